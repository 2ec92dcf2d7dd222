// What the tray shows, from the agent's status: one state at a glance (icon colour and
// shape, tooltip) and the menu a nurse or the help desk uses. Pure, so every state is
// tested under Node; main/shell/tray.ts draws it.
import { deflateSync } from 'node:zlib';
import type { AgentStatus } from '../agent';

export type TrayState = 'unlocked' | 'warning' | 'locked' | 'emergency' | 'upstream-unreachable' | 'error';

export interface TrayModel {
  readonly state: TrayState;
  readonly tooltip: string;
  /** Informational lines at the top of the menu (disabled items). */
  readonly lines: readonly string[];
  readonly actions: readonly ('lock-now' | 'status' | 'copy-status' | 'about')[];
}

const ACTIONS: TrayModel['actions'] = ['lock-now', 'status', 'copy-status', 'about'];

/** The state that matters most wins: an emergency, then a fault, then the session. */
export function trayModel(s: AgentStatus): TrayModel {
  const phase = s.session?.phase ?? null;
  // The acknowledging upstream keeps failing (backing off after errors): events pile up locally.
  const upstreamDown = s.forwarding !== null && s.forwarding.lanes.some((l) => l.acknowledges && l.consecutiveFailures > 0 && l.lastError !== null);
  const fault = s.audit.spool.failing || !s.auth.directoryKey.ok || s.policy.errors.length > 0 || s.forwarding?.continuityAlarm != null || s.upstreamProblem !== null;
  const state: TrayState = s.auth.emergency
    ? 'emergency'
    : fault
      ? 'error'
      : upstreamDown
        ? 'upstream-unreachable'
        : phase === 'warning'
          ? 'warning'
          : phase === 'unlocked'
            ? 'unlocked'
            : 'locked';
  const session = s.auth.emergency
    ? `Emergency access: ${s.auth.emergency.user}`
    : phase === null
      ? 'Not enforcing sessions (headless)'
      : phase === 'unlocked' || phase === 'warning'
        ? `Signed in: ${s.session?.owner ?? '-'}${phase === 'warning' ? ' (locking soon)' : ''}`
        : s.session?.owner
          ? `Locked (${s.session.owner})`
          : 'Locked';
  const waiting = s.forwarding
    ? `${s.forwarding.queueDepth} audit events waiting to upload`
    : s.upstreamProblem
      ? 'Upstream not started: audit events wait on this workstation'
      : 'No upstream configured';
  const problem =
    state === 'error'
      ? s.audit.spool.failing
        ? 'Problem: audit writes are failing'
        : !s.auth.directoryKey.ok
          ? 'Problem: badge sign-in unavailable'
          : s.policy.errors.length > 0
            ? 'Problem: the policy file was rejected'
            : s.upstreamProblem
              ? "Problem: the upstream's certificate or key cannot be read"
              : 'Problem: audit continuity alarm'
      : state === 'upstream-unreachable'
        ? 'Problem: the audit collector cannot be reached'
        : null;
  return {
    state,
    tooltip: `Clinical Workstation Agent — ${problem ?? session}`,
    lines: [session, waiting, ...(problem ? [problem] : [])],
    actions: ACTIONS,
  };
}

const COLOURS: Readonly<Record<TrayState, readonly [number, number, number]>> = {
  unlocked: [46, 160, 67],
  warning: [230, 160, 0],
  locked: [40, 90, 160],
  emergency: [200, 20, 60],
  'upstream-unreachable': [120, 120, 120],
  error: [200, 20, 60],
};

/**
 * A 32×32 tray icon per state, as PNG bytes: a filled disc in the state's colour, with a
 * shape inside so the state never rests on colour alone (a bar for locked, an × for an
 * error, a + for emergency access, a ring for unreachable, a dot for the warning).
 */
export function trayIconPng(state: TrayState, size = 32): Buffer {
  const [r, g, b] = COLOURS[state];
  const raw = Buffer.alloc(size * (size * 4 + 1));
  const c = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const dx = x - c;
      const dy = y - c;
      const d = Math.sqrt(dx * dx + dy * dy);
      const inside = d <= c;
      const mark =
        (state === 'locked' && Math.abs(dy) < size * 0.08 && Math.abs(dx) < size * 0.28) ||
        (state === 'error' && (Math.abs(dx - dy) < size * 0.09 || Math.abs(dx + dy) < size * 0.09) && d < size * 0.32) ||
        (state === 'emergency' && ((Math.abs(dx) < size * 0.08 && Math.abs(dy) < size * 0.3) || (Math.abs(dy) < size * 0.08 && Math.abs(dx) < size * 0.3))) ||
        (state === 'upstream-unreachable' && d > size * 0.2 && d < size * 0.3) ||
        (state === 'warning' && d < size * 0.14);
      const o = y * (size * 4 + 1) + 1 + x * 4;
      if (!inside) continue;
      raw[o] = mark ? 255 : r;
      raw[o + 1] = mark ? 255 : g;
      raw[o + 2] = mark ? 255 : b;
      raw[o + 3] = 255;
    }
  }
  return png(size, size, raw);
}

function png(width: number, height: number, raw: Buffer): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

let table: Int32Array | null = null;
function crc32(buf: Buffer): number {
  if (!table) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let crc = -1;
  for (const byte of buf) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return crc ^ -1;
}
