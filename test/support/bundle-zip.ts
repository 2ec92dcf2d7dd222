// Opens a diagnostics bundle the way the help desk's unzip tool would (yauzl, a
// well-kept reader), for the tests that check what a bundle holds and what it never does.
import yauzl, { type Entry, type ZipFile } from 'yauzl';

export interface ZipEntryText {
  readonly name: string;
  /** Unix mode bits stored with the entry (0 when none). */
  readonly mode: number;
  readonly text: string;
}

/** Every file entry of the zip at `path`, in order, as UTF-8 text. */
export function readZip(path: string): Promise<ZipEntryText[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true }, (err, zip?: ZipFile) => {
      if (err || !zip) return reject(err ?? new Error(`cannot open ${path}`));
      const out: ZipEntryText[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(out));
      zip.on('entry', (entry: Entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr || !stream) return reject(streamErr ?? new Error(`cannot read ${entry.fileName}`));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            out.push({ name: entry.fileName, mode: (entry.externalFileAttributes >>> 16) & 0o7777, text: Buffer.concat(chunks).toString('utf8') });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}
