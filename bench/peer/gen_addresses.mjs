#!/usr/bin/env node
// Generate synthetic test addresses from the local v1-API town dictionary.
// usage: node gen_addresses.mjs --api-dir /abs/path/to/towns/api/ja --n 2000 [--seed 1] [--no-pref] > addresses.txt
// Each line: [埼玉県]<city><town><block numbers>, where towns ending in 丁目 get "b-c"
// (e.g. 常盤六丁目4-4) and other towns get "a-b-c" (e.g. 大字新堀12-3-4).
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const argv = process.argv.slice(2)
const get = (k, d) => {
  const i = argv.indexOf(k)
  return i >= 0 ? argv[i + 1] : d
}
const dir = get('--api-dir')
const n = Number(get('--n', '2000'))
let seed = Number(get('--seed', '1')) >>> 0
const withPref = !argv.includes('--no-pref')
const pref = get('--pref', '埼玉県')
if (!dir) {
  console.error('usage: node gen_addresses.mjs --api-dir /abs/path/to/towns/api/ja --n 2000 [--seed 1] [--no-pref]')
  process.exit(2)
}

// mulberry32: small deterministic PRNG
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const ri = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1))

const prefDir = join(dir, pref)
const pairs = []
for (const f of readdirSync(prefDir).sort()) {
  if (!f.endsWith('.json')) continue
  const city = f.slice(0, -5)
  for (const t of JSON.parse(readFileSync(join(prefDir, f), 'utf-8'))) {
    pairs.push([city, t.town])
  }
}
const out = []
for (let i = 0; i < n; i++) {
  const [city, town] = pairs[Math.floor(rand() * pairs.length)]
  const nums = town.endsWith('丁目')
    ? `${ri(1, 30)}-${ri(1, 40)}`
    : `${ri(1, 3000)}-${ri(1, 30)}-${ri(1, 20)}`
  out.push(`${withPref ? pref : ''}${city}${town}${nums}`)
}
process.stdout.write(out.join('\n') + '\n')
