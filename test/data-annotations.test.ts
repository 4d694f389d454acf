// Annotation readers on each official layout (files written here), bad lines reported with file:line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { formatIssue, readHmdb51, readKinetics, readSsv2, readUcf101, readVideoList } from '../lib/data/annotations/index.js';
import { readAnnotation, parseDatasetSpec } from '../lib/data/spec.js';
import { ConfigError, DataError } from '../lib/errors/index.js';
import { tempDir, cleanTemp } from './data-fixtures.js';

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

describe('UCF101', () => {
  const root = tempDir('ucf');
  const l = join(root, 'ucfTrainTestlist');
  // CRLF line endings as in the official zip
  write(join(l, 'classInd.txt'), '1 ApplyEyeMakeup\r\n2 ApplyLipstick\r\n3 Archery\r\n');
  write(
    join(l, 'trainlist01.txt'),
    [
      'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1',
      'Archery/v_Archery_g08_c01.avi 3',
      'ApplyLipstick/v_ApplyLipstick_g08_c01.avi 1', // label does not match folder
      'Archery/v_Archery_g09_c01.avi x', // not an integer
      '',
      'ApplyLipstick/v_ApplyLipstick_g09_c01.avi 2',
    ].join('\r\n'),
  );
  write(join(l, 'testlist01.txt'), 'Archery/v_Archery_g01_c01.avi\nNoSuchClass/v_x.avi\nApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\n');

  it('reads classInd (1-based -> 0-based) and the train list', () => {
    const a = readUcf101({ root, split: 1, subset: 'train' });
    expect(a.classNames).toEqual(['ApplyEyeMakeup', 'ApplyLipstick', 'Archery']);
    expect(a.entries.map((e) => e.label)).toEqual([0, 2, 1]);
    expect(a.entries[0]!.path).toBe(join(root, 'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi'));
    expect(a.issues.map((i) => [i.line, i.reason])).toEqual([
      [3, 'class id 1 (ApplyEyeMakeup) does not match the folder ApplyLipstick'],
      [4, 'class id "x" is not an integer in [1, 3]'],
    ]);
    expect(formatIssue(a.issues[0]!)).toBe(`${join(l, 'trainlist01.txt')}:3: class id 1 (ApplyEyeMakeup) does not match the folder ApplyLipstick`);
  });

  it('takes test labels from the folder', () => {
    const a = readUcf101({ root, subset: 'test' });
    expect(a.entries.map((e) => e.label)).toEqual([2, 0]);
    expect(a.issues).toHaveLength(1);
    expect(a.issues[0]).toMatchObject({ line: 2, reason: expect.stringContaining('NoSuchClass') });
  });

  it('names the missing file', () => {
    expect(() => readUcf101({ root, split: 2 })).toThrow(DataError);
    expect(() => readUcf101({ root, split: 2 })).toThrow(/trainlist02.txt/);
  });
});

describe('HMDB51', () => {
  const root = tempDir('hmdb');
  const s = join(root, 'testTrainMulti_7030_splits');
  write(join(s, 'wave_test_split1.txt'), 'w1.avi 1 \nw2.avi 2 \nw3.avi 0 \n');
  write(join(s, 'brush_hair_test_split1.txt'), 'b1.avi 1 \nb2.avi 1 \nb3.avi 7\nb4.avi 2 \n');
  write(join(s, 'brush_hair_test_split2.txt'), 'b1.avi 2 \n');

  it('sorts classes, keeps flag 1 for train and 2 for test, reports bad flags', () => {
    const tr = readHmdb51({ root, split: 1, subset: 'train' });
    expect(tr.classNames).toEqual(['brush_hair', 'wave']);
    expect(tr.entries.map((e) => [e.path.slice(root.length + 1), e.label])).toEqual([
      ['brush_hair/b1.avi', 0],
      ['brush_hair/b2.avi', 0],
      ['wave/w1.avi', 1],
    ]);
    expect(tr.issues).toHaveLength(1);
    expect(formatIssue(tr.issues[0]!)).toMatch(/brush_hair_test_split1.txt:3: expected "<video.avi> <0\|1\|2>"/);
    const te = readHmdb51({ root, split: 1, subset: 'test' });
    expect(te.entries.map((e) => e.label)).toEqual([0, 1]);
  });
});

describe('Kinetics-400', () => {
  const root = tempDir('k400');
  const header = 'label,youtube_id,time_start,time_end,split,is_cc';
  write(join(root, 'train.csv'), [header, 'abseiling,aaa,10,20,train,0', '"air drumming",bbb,0,10,train,0', 'zumba,ccc,5,15,train,0', 'zumba,ddd,x,15,train,0', 'zumba,eee'].join('\n'));
  write(join(root, 'validate.csv'), [header, 'zumba,vvv,3,13,val,0', 'not a class,www,0,10,val,0'].join('\n'));
  // one video present in a class folder (the per-class layout)
  write(join(root, 'train', 'air drumming', 'bbb_000000_000010.mp4'), 'x');

  it('uses sorted labels as class ids and the official file names', () => {
    const a = readKinetics({ root, subset: 'train' });
    expect(a.classNames).toEqual(['abseiling', 'air drumming', 'zumba']);
    expect(a.entries.map((e) => e.label)).toEqual([0, 1, 2]);
    expect(a.entries[0]!.path).toBe(join(root, 'train', 'abseiling', 'aaa_000010_000020.mp4'));
    expect(a.entries[1]!.path).toBe(join(root, 'train', 'air drumming', 'bbb_000000_000010.mp4'));
    expect(a.issues.map((i) => i.line)).toEqual([5, 6]);
    const v = readKinetics({ root, subset: 'val' });
    expect(v.entries.map((e) => e.label)).toEqual([2]);
    expect(v.issues[0]).toMatchObject({ line: 3, reason: expect.stringContaining('"not a class"') });
  });

  it('rejects a CSV without the header', () => {
    write(join(root, 'test.csv'), 'abseiling,aaa,10,20,test\n');
    expect(() => readKinetics({ root, subset: 'test' })).toThrow(/test.csv:1: expected a header with label,youtube_id/);
  });
});

describe('Something-Something v2', () => {
  const root = tempDir('ssv2');
  write(join(root, 'labels', 'something-something-v2-labels.json'), JSON.stringify({ 'Holding something': '0', 'Pushing something from left to right': '1' }));
  write(
    join(root, 'labels', 'something-something-v2-train.json'),
    JSON.stringify([
      { id: '12', label: 'pushing a cup from left to right', template: 'Pushing [something] from left to right', placeholders: ['a cup'] },
      { id: '13', label: 'holding a pen', template: 'Holding [something]', placeholders: ['a pen'] },
      { id: '14', template: 'Juggling [something]' },
      { label: 'no id' },
    ]),
  );
  write(join(root, 'labels', 'something-something-v2-validation.json'), JSON.stringify([{ id: 7, template: 'Holding [something]' }]));

  it('maps templates without brackets to the labels JSON', () => {
    const a = readSsv2({ root });
    expect(a.classNames).toEqual(['Holding something', 'Pushing something from left to right']);
    expect(a.entries.map((e) => [e.path.slice(root.length + 1), e.label])).toEqual([
      ['12.webm', 1],
      ['13.webm', 0],
    ]);
    expect(a.issues.map((i) => i.entry)).toEqual([2, 3]);
    expect(formatIssue(a.issues[0]!)).toMatch(/something-something-v2-train.json\[2\]: template "Juggling something" is not in/);
    expect(readSsv2({ root, subset: 'val' }).entries).toHaveLength(1);
  });
});

describe('VideoMAE list file', () => {
  const root = tempDir('list');
  write(join(root, 'train.csv'), ['/abs/a.mp4 0', 'rel/b.mp4 3', 'c.mp4', 'd.mp4 -1', 'my clip.mp4 2', 'e.mp4 1.5'].join('\n'));

  it('reads "path label" lines, resolving relative paths against the list folder', () => {
    const a = readVideoList({ file: join(root, 'train.csv') });
    expect(a.entries).toEqual([
      { path: '/abs/a.mp4', label: 0 },
      { path: join(root, 'rel/b.mp4'), label: 3 },
      { path: join(root, 'my clip.mp4'), label: 2 },
    ]);
    expect(a.classNames).toHaveLength(4);
    expect(a.issues.map((i) => i.line)).toEqual([3, 4, 6]);
    const capped = readVideoList({ file: join(root, 'train.csv'), numClasses: 3 });
    expect(capped.issues.map((i) => i.line)).toEqual([2, 3, 4, 6]);
  });
});

describe('dataset specs', () => {
  it('parses every documented form', () => {
    expect(parseDatasetSpec('synthetic')).toEqual({ kind: 'synthetic', spec: 'synthetic' });
    expect(parseDatasetSpec('shards:/d')).toEqual({ kind: 'shards', dir: '/d', spec: 'shards:/d' });
    expect(parseDatasetSpec('list:/x/train.csv')).toMatchObject({ kind: 'list', file: '/x/train.csv' });
    for (const k of ['ucf101', 'hmdb51', 'k400', 'ssv2']) expect(parseDatasetSpec(`${k}:/data/${k}`)).toMatchObject({ kind: k, dir: `/data/${k}` });
    expect(parseDatasetSpec('shards:rel').kind === 'shards' && (parseDatasetSpec('shards:rel') as { dir: string }).dir).toBe(join(process.cwd(), 'rel'));
  });

  it('rejects bad specs with ConfigError naming the flag', () => {
    for (const bad of ['', 'kinetics:/x', 'ucf101:', 'shards', 'synthetic:/x', 42]) {
      expect(() => parseDatasetSpec(bad)).toThrow(ConfigError);
    }
    expect(() => parseDatasetSpec('kinetics:/x')).toThrow(/^dataset: expected a known dataset kind/);
    expect(() => parseDatasetSpec('ucf101:')).toThrow(/^dataset: expected a path after "ucf101:", received "ucf101:"/);
  });

  it('reads the annotation of a spec', () => {
    const root = tempDir('spec');
    write(join(root, 'l.txt'), 'a.mp4 1\n');
    expect(readAnnotation(parseDatasetSpec(`list:${join(root, 'l.txt')}`)).entries).toHaveLength(1);
    expect(() => readAnnotation(parseDatasetSpec('synthetic'))).toThrow(ConfigError);
  });
});

afterAll(cleanTemp);
