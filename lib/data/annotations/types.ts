/** One video of an annotated dataset. */
export interface VideoEntry {
  /** Absolute path of the video file (it may not exist; the decoder reports missing files). */
  path: string;
  /** 0-based class id, as the official files define it. */
  label: number;
}

/** A line (or JSON entry) that was skipped, and why. */
export interface AnnotationIssue {
  /** The annotation file. */
  file: string;
  /** 1-based line number; for JSON files, the 0-based entry index in `entry` instead. */
  line?: number;
  entry?: number;
  reason: string;
}

/** What a reader returns: the usable entries, the class names (index = label) and every skipped line. */
export interface Annotation {
  dataset: 'ucf101' | 'hmdb51' | 'k400' | 'ssv2' | 'list';
  entries: VideoEntry[];
  /** Class names in label order; for plain lists, `String(label)` up to the largest label. */
  classNames: string[];
  /** Skipped lines/entries with file, position and reason; `issues.length` is the skip count. */
  issues: AnnotationIssue[];
}

export type Subset = 'train' | 'test';

/** `file:line: reason` (or `file[entry]: reason`), the way issues are printed. */
export function formatIssue(i: AnnotationIssue): string {
  const where = i.line !== undefined ? `${i.file}:${i.line}` : i.entry !== undefined ? `${i.file}[${i.entry}]` : i.file;
  return `${where}: ${i.reason}`;
}

/** Splits text into lines (LF or CRLF), keeping 1-based numbers; blank lines are dropped. */
export function lines(text: string): Array<{ n: number; text: string }> {
  const out: Array<{ n: number; text: string }> = [];
  const parts = text.split('\n');
  for (let i = 0; i < parts.length; i++) {
    const t = parts[i]!.replace(/\r$/, '').trim();
    if (t.length > 0) out.push({ n: i + 1, text: t });
  }
  return out;
}
