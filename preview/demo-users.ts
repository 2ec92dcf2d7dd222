// The preview's synthetic people: one per kind of user a newcomer should meet at the lock
// screen, enrolled with badge and PIN at every start. Made-up names and numbers, printed
// and shown on purpose: they exist only in the preview's throwaway directory.
export interface DemoUser {
  readonly id: string;
  readonly displayName: string;
  readonly roles: readonly string[];
  /** What the person does, in words (the terminal and the preview's index page show it). */
  readonly role: string;
  readonly badge: string;
  readonly pin: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  { id: 'amara.okoye', displayName: 'Amara Okoye', roles: ['nurse'], role: 'nurse', badge: '0041000001', pin: '5802' },
  { id: 'eli.novak', displayName: 'Eli Novak', roles: ['nurse'], role: 'nurse', badge: '0041000002', pin: '4682' },
  { id: 'ben.hartley', displayName: 'Dr Ben Hartley', roles: ['physician'], role: 'physician', badge: '0041000003', pin: '2946' },
  { id: 'carmen.diaz', displayName: 'Carmen Diaz', roles: ['help-desk', 'enroller'], role: 'help desk, enroller', badge: '0041000004', pin: '7315' },
];
