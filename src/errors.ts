/** One step of a JSON path: an object key or an array index. */
export type PathSegment = string | number;

/**
 * `expected.float32.grads["0.weight"].data[3]`: dotted where a key is a plain identifier,
 * bracketed where it is not (state_dict names contain dots).
 */
export function formatJsonPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * Bad input from outside the program: a golden, a graph, a command-line option. The message
 * names the file and, when there is one, the JSON path of the offending field. The CLI turns
 * it into a one-line report and a non-zero exit code.
 */
export class InputError extends Error {
  override name = 'InputError';
  readonly file: string;
  readonly path: readonly PathSegment[] | null;
  readonly reason: string;

  constructor(file: string, path: readonly PathSegment[] | null, reason: string) {
    super(path === null ? `${file}: ${reason}` : `${file}: ${formatJsonPath(path)}: ${reason}`);
    this.file = file;
    this.path = path;
    this.reason = reason;
  }
}
