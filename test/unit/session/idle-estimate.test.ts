// Whole-second idle readings become a stable millisecond idle time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WholeSecondIdleEstimate } from '../../../main/session/idle-estimate';

describe('whole-second idle estimate', () => {
  it('narrows to the second boundary and never jitters between polls', () => {
    const e = new WholeSecondIdleEstimate();
    // True last input at t=10_300. Polls every 250 ms read floor((t - 10_300) / 1000).
    const readings: number[] = [];
    for (let t = 10_400; t <= 14_000; t += 250) readings.push(t - e.read(Math.floor((t - 10_300) / 1000), t));
    // The estimated input time only moves towards the truth and never past it.
    for (let i = 1; i < readings.length; i++) assert.ok((readings[i] ?? 0) <= (readings[i - 1] ?? 0));
    assert.ok((readings.at(-1) ?? 0) >= 10_300 && (readings.at(-1) ?? 0) - 10_300 <= 250, `estimate ${String(readings.at(-1))}`);
  });

  it('starts a new window when input happens', () => {
    const e = new WholeSecondIdleEstimate();
    e.read(5, 20_000);
    assert.equal(e.read(0, 20_500), 0);
  });
});
