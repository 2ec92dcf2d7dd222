// An in-memory HKEY_LOCAL_MACHINE behind the RegistryReader port: the Windows registry cannot
// run here, so this stands in for that OS API only (names case-insensitive, like the real
// one). writePolicyToRegistry writes a policy document exactly where registryLocation()
// says, as the ADMX templates and the MSI do, so tests read back what IT's tools write.
import { registryLocation } from '../../main/policy/locations';
import type { RegistryKeyContents, RegistryReader, RegistryValue, RegistryValueType } from '../../main/policy/registry-source';
import { policySettings, valueAt } from '../../main/policy/settings';

interface Key {
  readonly path: string;
  readonly values: Map<string, RegistryValue>;
}

export class MemoryRegistry implements RegistryReader {
  private readonly keys = new Map<string, Key>();
  /** While set, every read fails with it (access denied, a broken hive). */
  failing: Error | null = null;
  reads = 0;

  createKey(path: string): void {
    const parts = path.split('\\');
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('\\');
      if (!this.keys.has(p.toLowerCase())) this.keys.set(p.toLowerCase(), { path: p, values: new Map() });
    }
  }

  set(path: string, name: string, type: RegistryValueType, data: RegistryValue['data']): void {
    this.createKey(path);
    this.keys.get(path.toLowerCase())!.values.set(name.toLowerCase(), { name, type, data });
  }

  deleteValue(path: string, name: string): void {
    this.keys.get(path.toLowerCase())?.values.delete(name.toLowerCase());
  }

  deleteTree(path: string): void {
    const lower = path.toLowerCase();
    for (const k of [...this.keys.keys()]) if (k === lower || k.startsWith(`${lower}\\`)) this.keys.delete(k);
  }

  async readKey(path: string): Promise<RegistryKeyContents | null> {
    this.reads++;
    if (this.failing) throw this.failing;
    const lower = path.toLowerCase();
    const key = this.keys.get(lower);
    if (!key) return null;
    const subkeys = [...this.keys.values()]
      .filter((k) => k.path.toLowerCase().startsWith(`${lower}\\`) && !k.path.slice(path.length + 1).includes('\\'))
      .map((k) => k.path.slice(path.length + 1));
    return { subkeys, values: [...key.values.values()] };
  }
}

/** Writes every setting `doc` sets under HKLM\<root>, in the layout of locations.ts. */
export function writePolicyToRegistry(reg: MemoryRegistry, root: string, doc: unknown): void {
  reg.createKey(root);
  for (const setting of policySettings()) {
    const value = valueAt(doc, setting.path);
    if (value === undefined) continue;
    const loc = registryLocation(setting);
    const key = loc.subkey ? `${root}\\${loc.subkey}` : root;
    if (loc.list) {
      (value as unknown[]).forEach((item, i) =>
        reg.set(`${key}\\${loc.value}`, String(i + 1), loc.type, loc.type === 'REG_DWORD' ? (item as number) : String(item)),
      );
      continue;
    }
    switch (setting.kind) {
      case 'boolean':
        reg.set(key, loc.value, 'REG_DWORD', value ? 1 : 0);
        break;
      case 'integer':
        reg.set(key, loc.value, loc.type, loc.type === 'REG_QWORD' ? BigInt(value as number) : (value as number));
        break;
      case 'json':
        reg.set(key, loc.value, 'REG_SZ', JSON.stringify(value));
        break;
      default:
        reg.set(key, loc.value, 'REG_SZ', String(value));
    }
  }
}
