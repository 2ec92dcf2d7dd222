// The RegistryReader on Windows: native-reg (N-API, prebuilt) reads HKEY_LOCAL_MACHINE
// in-process, in the 64-bit view Group Policy writes to. Loaded only when first used, so
// no other OS ever loads the Windows-only binary.
import type * as NativeRegModule from 'native-reg';
import type { RegistryKeyContents, RegistryReader, RegistryValue, RegistryValueType } from './registry-source';

type NativeReg = typeof NativeRegModule;

let loaded: NativeReg | null = null;

function nativeReg(): NativeReg {
  if (process.platform !== 'win32') throw new Error('the Windows registry exists only on Windows');
  // A static import would load the Windows binary on every OS; this loads it on first use.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('native-reg') as NativeReg;
  return loaded;
}

const TYPES: Readonly<Record<number, RegistryValueType>> = { 0: 'REG_NONE', 1: 'REG_SZ', 2: 'REG_EXPAND_SZ', 3: 'REG_BINARY', 4: 'REG_DWORD', 7: 'REG_MULTI_SZ', 11: 'REG_QWORD' };

export class NativeRegistryReader implements RegistryReader {
  async readKey(path: string): Promise<RegistryKeyContents | null> {
    const reg = nativeReg();
    // Read only, 64-bit view: a 32-bit build must not be sent to WOW6432Node, where GPO writes nothing.
    const key = reg.openKey(reg.HKLM, path, reg.Access.READ | reg.Access.WOW64_64KEY);
    if (key === null) return null;
    try {
      const values: RegistryValue[] = [];
      for (const name of reg.enumValueNames(key)) {
        const raw = reg.queryValueRaw(key, name);
        if (!raw) continue;
        const type = TYPES[raw.type] ?? 'REG_OTHER';
        const parsed = type === 'REG_OTHER' || type === 'REG_NONE' ? null : reg.parseValue(raw);
        values.push({ name, type, data: parsed === null ? new Uint8Array(raw) : (parsed as RegistryValue['data']) });
      }
      return { subkeys: reg.enumKeyNames(key), values };
    } finally {
      reg.closeKey(key);
    }
  }
}
