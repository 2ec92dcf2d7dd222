// Which policy sources the agent reads on each OS, highest precedence first: Windows —
// Group Policy and the MSI's installer values in the registry, then the machine file;
// macOS — the MDM profile's managed preferences, an installer-values file beside the
// machine file, then the machine file; Linux — the installer-values file and the machine file.
import { posix, win32 } from 'node:path';
import type { AgentPaths } from '../platform/paths';
import { GPO_KEY, INSTALLER_KEY, MAC_MANAGED_PREFERENCES } from './locations';
import { ManagedPreferencesSource } from './managed-preferences';
import { NativeRegistryReader } from './native-registry';
import { PolicyFileSource } from './policy-file';
import { RegistryPolicySource, type RegistryReader } from './registry-source';
import type { PolicySource } from './sources';

/** Installer values on Linux and macOS (the deb and pkg set none today, so it is normally absent). */
export const INSTALLER_VALUES_FILE = 'installer-values.json';

export function installerValuesPath(paths: AgentPaths, platform: NodeJS.Platform = process.platform): string {
  const path = platform === 'win32' ? win32 : posix;
  return path.join(path.dirname(paths.policyFile), INSTALLER_VALUES_FILE);
}

/** Where the last good reading of each source is kept (the agent's data folder). */
export function policyCachePath(paths: AgentPaths, platform: NodeJS.Platform = process.platform): string {
  return (platform === 'win32' ? win32 : posix).join(paths.dataDir, 'policy-cache.json');
}

export function defaultPolicySources(paths: AgentPaths, platform: NodeJS.Platform = process.platform): PolicySource[] {
  const machineFile = new PolicyFileSource({ name: 'machine-file', path: paths.policyFile });
  switch (platform) {
    case 'win32': {
      // One reader for both keys, created on first read so constructing this list loads nothing native.
      let reader: RegistryReader | null = null;
      const registry = () => (reader ??= new NativeRegistryReader());
      return [new RegistryPolicySource('group-policy', GPO_KEY, registry), new RegistryPolicySource('installer', INSTALLER_KEY, registry), machineFile];
    }
    case 'darwin':
      return [new ManagedPreferencesSource(MAC_MANAGED_PREFERENCES), new PolicyFileSource({ name: 'installer', path: installerValuesPath(paths, platform) }), machineFile];
    default:
      return [new PolicyFileSource({ name: 'installer', path: installerValuesPath(paths, platform) }), machineFile];
  }
}
