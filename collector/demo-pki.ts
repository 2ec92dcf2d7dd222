// Throwaway PKI for demos, tests and benchmarks, made with the openssl CLI at run time (no key or
// certificate is ever committed): a CA, a localhost server certificate, client
// certificates, and the bad ones the fault tests need (expired, wrong CA, wrong name).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
}

export interface Ca extends CertFiles {
  readonly name: string;
}

export class TestPki {
  readonly dir: string;
  private serial = 1;

  constructor(dir?: string) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'cwa-pki-'));
  }

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  private files(base: string): CertFiles {
    const certPath = join(this.dir, `${base}.crt`);
    const keyPath = join(this.dir, `${base}.key`);
    return { certPath, keyPath, cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
  }

  /** A self-signed CA (ECDSA P-256), valid for `days` (2 by default: throwaway). */
  createCa(name: string, days = 2): Ca {
    this.openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(this.dir, `${name}.key`), '-out', join(this.dir, `${name}.crt`), '-days', String(days),
      '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    return { name, ...this.files(name) };
  }

  /**
   * A leaf certificate signed by `ca`. `kind` sets the extended key usage; `dns`/`ips` the
   * subjectAltName. `expired` back-dates it so that it is no longer valid; `days` is its
   * validity otherwise (2 by default).
   */
  issue(ca: Ca, name: string, opts: { kind: 'server' | 'client'; dns?: string[]; ips?: string[]; expired?: boolean; days?: number }): CertFiles {
    const key = join(this.dir, `${name}.key`);
    const csr = join(this.dir, `${name}.csr`);
    const ext = join(this.dir, `${name}.ext`);
    this.openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
    const san = [...(opts.dns ?? []).map((d) => `DNS:${d}`), ...(opts.ips ?? []).map((i) => `IP:${i}`)];
    writeFileSync(
      ext,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyAgreement',
        `extendedKeyUsage=${opts.kind === 'server' ? 'serverAuth' : 'clientAuth'}`,
        ...(san.length > 0 ? [`subjectAltName=${san.join(',')}`] : []),
      ].join('\n'),
    );
    if (opts.expired) {
      // `openssl x509` of OpenSSL 3.0 cannot set dates; `openssl ca` can.
      const db = join(this.dir, `${name}.index`);
      writeFileSync(db, '');
      writeFileSync(`${db}.serial`, '1000\n');
      const conf = join(this.dir, `${name}.ca.cnf`);
      writeFileSync(conf, ['[ca]', 'default_ca=x', '[x]', `database=${db}`, `serial=${db}.serial`, `new_certs_dir=${this.dir}`, 'default_md=sha256',
        'policy=p', 'unique_subject=no', '[p]', 'commonName=supplied'].join('\n'));
      this.openssl(['ca', '-batch', '-notext', '-config', conf, '-in', csr, '-cert', ca.certPath, '-keyfile', ca.keyPath,
        '-out', join(this.dir, `${name}.crt`), '-extfile', ext, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z',
      ]);
    } else {
      this.openssl(['x509', '-req', '-in', csr, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-set_serial', String(this.serial++),
        '-out', join(this.dir, `${name}.crt`), '-extfile', ext, '-days', String(opts.days ?? 2)]);
    }
    return this.files(name);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
