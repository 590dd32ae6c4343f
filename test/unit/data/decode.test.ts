/** Encodings: UTF-8 with/without BOM, CRLF, UTF-16 LE/BE (with or without BOM), binary, empty. */
import { describe, expect, test } from 'vitest';
import { readLines, readText, sniffEncoding } from '../../../src/data/decode.ts';
import { importDataset } from '../../../src/data/import.ts';
import { fileFromBytes } from '../../../src/data/inputs.ts';
import { chunkedFile, problemKeys } from './helpers.ts';

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

  test('binary and non-UTF-8 bytes are refused with a reason', () => {
    expect(sniffEncoding(Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d))).toMatchObject({
      ok: false,
      code: 'binary_file',
    });
    const latin1 = Uint8Array.from('caf\u00e9 cr\u00e8me'.split(''), (c) => c.charCodeAt(0));
    const res = sniffEncoding(latin1);
    expect(res).toMatchObject({ ok: false, code: 'encoding' });
    if (!res.ok) expect(res.reason).toMatch(/UTF-8/);
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
        got.push(`${l.line}:${l.invalid ? 'invalid' : l.text}`);
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
        got.push(`${l.line}:${l.invalid ? 'invalid' : l.text}`);
      expect(got).toEqual(['1:ok 1', '2:ok 2', '3:invalid', '4:ok 4']);
    }
  });

  test('readText normalises CRLF', async () => {
    const { text, encoding } = await readText(fileFromBytes('a.txt', utf8.encode('one\r\ntwo\r\n')));
    expect(encoding).toBe('utf-8');
    expect(text).toBe('one\ntwo\n');
    const bom = await readText(fileFromBytes('a.txt', Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8.encode('one\r\n')])));
    expect(bom).toEqual({ text: 'one\n', encoding: 'utf-8-bom' });
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
