// Words and numbers as a nurse reads them at arm's length: short times, plain possessives.

/** "Dana Reyes’s", "James’s": always ’s, as plain-English style guides allow. */
export function possessive(name: string): string {
  return `${name}’s`;
}

/** "14:35" in 24-hour time (the clock used on clinical units). */
export function formatClock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return 'later';
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** "45 s", "12 min", "1 h 05 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.ceil(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}
