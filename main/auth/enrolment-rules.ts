// The rules an enrolment must pass, wherever the directory lives (the workstation's own
// copy, or the collector every workstation shares): pure, so both apply exactly the same.
import { DirectoryConflictError, type Enrolment, type EntryState } from './directory';

export interface EnrolmentFacts {
  /** The user as the directory holds them now, or null. */
  readonly user: { readonly state: EntryState } | null;
  /** Who the badge token is bound to now (any state), or null. */
  readonly badgeOwner: { readonly userId: string; readonly state: EntryState } | null;
  readonly credentialExists: boolean;
}

/** Throws the conflict a person reads on the page (nothing is written), or returns whether the user is new. */
export function checkEnrolment(
  e: Pick<Enrolment, 'userId' | 'profile' | 'badgeToken' | 'pinVerifier'> & { readonly credential?: { readonly id: string } },
  facts: EnrolmentFacts,
): { readonly isNew: boolean } {
  if (facts.user?.state === 'revoked') {
    throw new DirectoryConflictError('revoked', `${e.userId} was revoked; IT must reinstate the account before anything is enrolled for it.`);
  }
  if (!facts.user && !e.profile) throw new DirectoryConflictError('no-such-user', `${e.userId} is not enrolled.`);
  if (!facts.user && (!e.badgeToken || !e.pinVerifier)) throw new DirectoryConflictError('incomplete', 'A new user needs a badge and a PIN.');
  if (e.badgeToken && facts.badgeOwner && facts.badgeOwner.userId !== e.userId && facts.badgeOwner.state === 'active') {
    throw new DirectoryConflictError('badge-bound', 'This badge already belongs to someone else. Use a different badge, or have the other enrolment revoked first.');
  }
  if (e.credential && facts.credentialExists) throw new DirectoryConflictError('credential-bound', 'This security key is already registered.');
  return { isNew: facts.user === null };
}
