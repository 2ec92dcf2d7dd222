// The KeyStore port (OS keychain) and its keytar adapter: macOS Keychain, Windows
// Credential Manager, Linux Secret Service. Secrets never touch the disk in clear.
import keytar from 'keytar';

export interface KeyStore {
  /** A description for error messages, e.g. `OS keychain service "clinical-workstation-agent"`. */
  readonly description: string;
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  delete(account: string): Promise<boolean>;
}

export class KeyStoreUnavailableError extends Error {
  constructor(description: string, cause: unknown) {
    super(
      `The ${description} cannot be reached (${cause instanceof Error ? cause.message : String(cause)}). ` +
        'On Linux a Secret Service (gnome-keyring or KWallet) must be running and unlocked in the session; ' +
        'on Windows and macOS the user profile must be loaded.',
      { cause },
    );
    this.name = 'KeyStoreUnavailableError';
  }
}

export class KeytarKeyStore implements KeyStore {
  readonly description: string;

  constructor(private readonly service: string) {
    this.description = `OS keychain service "${service}"`;
  }

  async get(account: string): Promise<string | null> {
    try {
      return await keytar.getPassword(this.service, account);
    } catch (err) {
      throw new KeyStoreUnavailableError(this.description, err);
    }
  }

  async set(account: string, secret: string): Promise<void> {
    try {
      await keytar.setPassword(this.service, account, secret);
    } catch (err) {
      throw new KeyStoreUnavailableError(this.description, err);
    }
  }

  async delete(account: string): Promise<boolean> {
    try {
      return await keytar.deletePassword(this.service, account);
    } catch (err) {
      throw new KeyStoreUnavailableError(this.description, err);
    }
  }
}
