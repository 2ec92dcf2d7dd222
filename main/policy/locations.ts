// Where IT's tools put each policy setting, per OS, in one place: the agent's readers, the
// ADMX/ADML and .mobileconfig templates and the MSI's installer values all use these, so a
// setting is read from exactly where the template writes it.
//
// Windows registry, for Group Policy (HKLM\SOFTWARE\Policies\ClinicalWorkstation\Agent) and
// for installer values (HKLM\SOFTWARE\ClinicalWorkstation\Agent), per setting: the subkey is
// the setting's section path, the value name its last part, e.g. session.lockAfterSeconds →
// key ...\Agent\session, value lockAfterSeconds.
//   boolean          REG_DWORD 0 or 1
//   integer          REG_DWORD, or REG_QWORD when its maximum does not fit 32 bits
//   number, string   REG_SZ (a number as text: ADMX decimals are whole numbers)
//   enum             REG_SZ, one of the choices
//   list             a subkey named after the setting holding values "1", "2", … (what an
//                    ADMX <list> element writes), each REG_SZ (or REG_DWORD for integers)
//   json             REG_SZ holding the JSON text of the value
//
// macOS: the preference domain org.clinicalworkstation.agent; a configuration profile's
// payload is the policy document itself (nested dictionaries per section), which macOS
// writes to /Library/Managed Preferences/org.clinicalworkstation.agent.plist.
import type { PolicySetting } from './settings';

export const REGISTRY_VENDOR = 'ClinicalWorkstation';
export const REGISTRY_PRODUCT = 'Agent';
/** Under HKEY_LOCAL_MACHINE: Group Policy's key (users cannot write it). */
export const GPO_KEY = `SOFTWARE\\Policies\\${REGISTRY_VENDOR}\\${REGISTRY_PRODUCT}`;
/** Under HKEY_LOCAL_MACHINE: values the MSI was given on the msiexec command line. */
export const INSTALLER_KEY = `SOFTWARE\\${REGISTRY_VENDOR}\\${REGISTRY_PRODUCT}`;

export const MAC_PREFERENCE_DOMAIN = 'org.clinicalworkstation.agent';
/** Device-level managed preferences, written by macOS from an MDM configuration profile. */
export const MAC_MANAGED_PREFERENCES = `/Library/Managed Preferences/${MAC_PREFERENCE_DOMAIN}.plist`;

export type RegistryValueType = 'REG_DWORD' | 'REG_QWORD' | 'REG_SZ';

export interface RegistryLocation {
  /** Below the root key (GPO_KEY or INSTALLER_KEY), backslash-separated; '' for none. */
  readonly subkey: string;
  /** The value name; for a list, the subkey holding the items (named "1", "2", …). */
  readonly value: string;
  readonly type: RegistryValueType;
  readonly list: boolean;
}

const DWORD_MAX = 0xffff_ffff;

export function registryLocation(setting: PolicySetting): RegistryLocation {
  const subkey = setting.path.slice(0, -1).join('\\');
  const value = setting.path[setting.path.length - 1]!;
  switch (setting.kind) {
    case 'boolean':
      return { subkey, value, type: 'REG_DWORD', list: false };
    case 'integer': {
      const max = setting.schema.maximum ?? Number.POSITIVE_INFINITY;
      const min = setting.schema.minimum ?? Number.NEGATIVE_INFINITY;
      return { subkey, value, type: max <= DWORD_MAX && min >= 0 ? 'REG_DWORD' : 'REG_QWORD', list: false };
    }
    case 'list':
      return { subkey, value, type: setting.itemKind === 'integer' ? 'REG_DWORD' : 'REG_SZ', list: true };
    case 'number':
    case 'string':
    case 'enum':
    case 'json':
      return { subkey, value, type: 'REG_SZ', list: false };
  }
}
