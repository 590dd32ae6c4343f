/** Encodings: UTF-8 with/without BOM, CRLF, UTF-16 LE/BE (with or without BOM), binary, empty. */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { readLines, readText } from '../../../src/data/decode.ts';
import { sniffEncoding } from '../../../src/data/sniff.ts';
import { importDataset } from '../../../src/data/import.ts';
import { fileFromBytes } from '../../../src/data/inputs.ts';
import { chunkedFile, datasetPath, problemKeys } from './helpers.ts';

const utf8 = new TextEncoder();

function utf16(text: string, bigEndian: boolean, bom: boolean): Uint8Array {
  const units = (bom ? '\uFEFF' : '') + text;
  const out = new Uint8Array(units.length * 2);
  for (let i = 0; i < units.length; i++) {
    const c = units.charCodeAt(i);
    out[2 * i + (bigEndian ? 1 : 0)] = c & 0xff;
    out[2 * i + (bigEndian ? 0 : 1)] = c >> 8;
  }
  return out;
}

async function lines(bytes: Uint8Array, chunk = 3): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readLines(chunkedFile('x.jsonl', bytes, chunk))) out.push(`${l.line}:${l.text}`);
  return out;
}

const rows = '{"prompt": "Grüße 0", "completion": "Hallo 😀"}\n{"prompt": "Q1", "completion": "A1"}\n';

describe('sniffing', () => {
  test('BOMs and BOM-less UTF-16 are recognised', () => {
    expect(sniffEncoding(Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b))).toMatchObject({
      ok: true,
      encoding: 'utf-8-bom',
      bomLength: 3,
    });
    expect(sniffEncoding(utf16(rows, false, true))).toMatchObject({ ok: true, encoding: 'utf-16le', bomLength: 2 });
    expect(sniffEncoding(utf16(rows, true, true))).toMatchObject({ ok: true, encoding: 'utf-16be', bomLength: 2 });
    expect(sniffEncoding(utf16(rows, false, false))).toMatchObject({ ok: true, encoding: 'utf-16le', bomLength: 0 });
    expect(sniffEncoding(utf16(rows, true, false))).toMatchObject({ ok: true, encoding: 'utf-16be', bomLength: 0 });
    expect(sniffEncoding(utf8.encode(rows))).toMatchObject({ ok: true, encoding: 'utf-8', bomLength: 0 });
  });

  test('binary files are refused with a reason; text with a few bad bytes is text', () => {
    const png = sniffEncoding(Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d));
    expect(png).toMatchObject({ ok: false, code: 'binary_file' });
    if (!png.ok) expect(png.reason).toMatch(/PNG/);
    const random = sniffEncoding(readFileSync(datasetPath('bad_inputs', 'binary_named_jsonl', 'data.jsonl')));
    expect(random).toMatchObject({ ok: false, code: 'binary_file' });
    // Latin-1 text and a NUL in a text file: text, whose bad lines the reader reports.
    const latin1 = Uint8Array.from('caf\u00e9 cr\u00e8me\n'.split(''), (c) => c.charCodeAt(0));
    expect(sniffEncoding(latin1)).toMatchObject({ ok: true, encoding: 'utf-8' });
    expect(sniffEncoding(utf8.encode('{"text": "a\u0000b"}\n'))).toMatchObject({ ok: true, encoding: 'utf-8' });
    // A run of NULs on one line of a small file (a torn write) is a bad line, not a binary file.
    const torn = utf8.encode(
      'prompt,completion\nq1,a1\nq2,\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\nq3,a3\nq4,a4\n',
    );
    expect(sniffEncoding(torn)).toMatchObject({ ok: true, encoding: 'utf-8' });
    // Packed numbers and a safetensors header are binary.
    expect(sniffEncoding(new Uint8Array(new Int32Array([1, 2, 3, 40, 5, 6, 7, 8, 9, 10]).buffer))).toMatchObject({
      ok: false,
    });
    const header = utf8.encode('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}');
    const st = Uint8Array.from([header.length, 0, 0, 0, 0, 0, 0, 0, ...header]);
    expect(sniffEncoding(st)).toMatchObject({ ok: false, reason: 'binary file (a safetensors file), not text' });
  });
});

describe('streaming lines', () => {
  test('multi-byte characters split across chunks, CRLF and a last line without newline', async () => {
    const text = 'a😀b\r\nGrüße\r\n\r\nlast';
    for (const chunk of [1, 2, 3, 5, 64]) {
      expect(await lines(utf8.encode(text), chunk)).toEqual(['1:a😀b', '2:Grüße', '3:', '4:last']);
    }
  });

  test('UTF-8 BOM is removed, UTF-16 LE and BE are decoded', async () => {
    const expected = ['1:{"prompt": "Grüße 0", "completion": "Hallo 😀"}', '2:{"prompt": "Q1", "completion": "A1"}'];
    expect(await lines(Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8.encode(rows)]), 2)).toEqual(expected);
    expect(await lines(utf16(rows, false, true), 3)).toEqual(expected);
    expect(await lines(utf16(rows, true, true), 7)).toEqual(expected);
    expect(await lines(utf16(rows, true, false), 4)).toEqual(expected);
  });

  test('a UTF-8 line with bad bytes is marked at its line and the following lines still come', async () => {
    const bytes = Uint8Array.from([...utf8.encode('ok 1\nok 2\nbad '), 0xff, 0x0a, ...utf8.encode('ok 4\n')]);
    for (const chunk of [1, 4, 100]) {
      const got: string[] = [];
      for await (const l of readLines(chunkedFile('x.txt', bytes, chunk)))
        got.push(`${l.line}:${l.bad ? 'invalid' : l.text}`);
      expect(got).toEqual(['1:ok 1', '2:ok 2', '3:invalid', '4:ok 4']);
    }
  });

  test('a broken UTF-16 line (a lone surrogate) is marked invalid; the lines around it still come', async () => {
    const bytes = Uint8Array.from([
      ...utf16('ok 1\nok 2\n', false, true),
      0x00,
      0xdc,
      0x0a,
      0x00,
      ...utf16('ok 4', false, false),
    ]);
    for (const chunk of [1, 3, 4, 100]) {
      const got: string[] = [];
      for await (const l of readLines(chunkedFile('x.txt', bytes, chunk)))
        got.push(`${l.line}:${l.bad ? 'invalid' : l.text}`);
      expect(got).toEqual(['1:ok 1', '2:ok 2', '3:invalid', '4:ok 4']);
    }
  });

  test('long lines across many chunks, CR at a chunk edge, a bad byte deep in a long line', async () => {
    const long = 'x'.repeat(300_000);
    const bytes = Uint8Array.from([
      ...utf8.encode(`${long}\r`),
      ...utf8.encode(`\n${long}é`),
      0xff,
      ...utf8.encode(`${long}\r${long}\n`),
    ]);
    for (const chunk of [1000, 4096, 65536, 300_001]) {
      const got: { line: number; n: number; bad?: { kind: string; offset: number } }[] = [];
      for await (const l of readLines(chunkedFile('x.jsonl', bytes, chunk)))
        got.push(l.bad ? { line: l.line, n: l.text.length, bad: l.bad } : { line: l.line, n: l.text.length });
      const badAt = 300_001 + 1 + 300_000 + 2;
      expect(got, `chunks of ${chunk}`).toEqual([
        { line: 1, n: 300_000 },
        { line: 2, n: 600_002, bad: { kind: 'encoding', offset: badAt } },
        { line: 3, n: 300_000 },
      ]);
    }
  });

  test('CR-only and mixed line ends count as lines; a UTF-16 CR LF pair split across chunks is one end', async () => {
    expect(await lines(utf8.encode('a\rb\r\nc\n\rd'), 1)).toEqual(['1:a', '2:b', '3:c', '4:', '5:d']);
    expect(await lines(utf16('a\r\nb\rc', false, true), 3)).toEqual(['1:a', '2:b', '3:c']);
  });

  test('readText normalises CRLF', async () => {
    const { text, encoding } = await readText(fileFromBytes('a.txt', utf8.encode('one\r\ntwo\r\n')));
    expect(encoding).toBe('utf-8');
    expect(text).toBe('one\ntwo\n');
    const bom = await readText(fileFromBytes('a.txt', Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8.encode('one\r\n')])));
    expect(bom).toEqual({ text: 'one\n', encoding: 'utf-8-bom', bad: [] });
  });
});

test('importing UTF-16 BE and a file with a bad byte mid-way keeps the good rows and reports the line', async () => {
  const broken = Uint8Array.from([
    ...utf8.encode('{"text": "first"}\n{"text": "second"}\n{"text": "thi'),
    0xc3,
    0x28,
    ...utf8.encode('rd"}\n'),
  ]);
  const res = await importDataset([
    { path: 'be.jsonl', bytes: utf16(rows, true, true) },
    { path: 'broken.jsonl', bytes: broken },
  ]);
  expect(res.sources.find((s) => s.path === 'be.jsonl')).toMatchObject({ encoding: 'utf-16be', rows: 2 });
  expect(res.sources.find((s) => s.path === 'broken.jsonl')).toMatchObject({ rows: 2 });
  expect(problemKeys(res.problems)).toEqual(['broken.jsonl:3 encoding']);
});
