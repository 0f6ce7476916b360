#!/usr/bin/env node
// Benchmark peer: run @geolonia/normalize-japanese-addresses (pinned 2.10.1)
// offline against a local copy of the Geolonia "v1 API" town dictionary.
//
// Usage:
//   node normalize.mjs --api file:///abs/path/to/towns/api/ja --in addresses.txt --out results.jsonl
//                      [--level 3] [--no-warmup] [--missing empty|error]
//
// --api       file:// URL (or plain filesystem path) of the "ja" API root, i.e. the
//             path WITHOUT ".json": the library reads <api>.json (prefecture -> cities)
//             and <api>/<pref>/<city>.json (towns).
// --level     normalisation level passed to normalize() (default 3 = town / 町丁目).
//             Levels > 3 make the library also try <api>/<pref>/<city>/<town>.json and
//             <api>/<pref>/<city>/<town>/住居表示.json (absent in our copy -> silently []).
// --no-warmup skip pre-loading ja.json and every 埼玉県 municipality file before the
//             timed loop (the first call per municipality then pays the load cost).
// --missing   what a missing dictionary file means (see below): "empty" (default) or
//             "error" (the library's raw behaviour: normalize() rejects with ENOENT).
//
// Output: one JSON line per input line, same order:
//   {"input","pref","city","town","addr","level","lat","lng","error"}
// Stderr: a final JSON line {"n","seconds","load_seconds",...}.

import { readFileSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { performance } from 'node:perf_hooks'
import { createRequire } from 'node:module'
import nja from '@geolonia/normalize-japanese-addresses'

const LIB_VERSION = createRequire(import.meta.url)(
  '@geolonia/normalize-japanese-addresses/package.json',
).version
const WARMUP_PREF = '埼玉県'

function parseArgs(argv) {
  const args = { level: 3, warmup: true, missing: 'empty' }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`)
      return argv[++i]
    }
    if (a === '--api') args.api = next()
    else if (a === '--in') args.in = next()
    else if (a === '--out') args.out = next()
    else if (a === '--level') args.level = Number(next())
    else if (a === '--no-warmup') args.warmup = false
    else if (a === '--missing') args.missing = next()
    else if (a === '-h' || a === '--help') args.help = true
    else throw new Error(`unknown argument: ${a}`)
  }
  return args
}

function usage() {
  return 'usage: node normalize.mjs --api file:///abs/path/to/towns/api/ja --in addresses.txt --out results.jsonl [--level 3] [--no-warmup] [--missing empty|error]'
}

let args
try {
  args = parseArgs(process.argv.slice(2))
} catch (e) {
  console.error(`${e.message}\n${usage()}`)
  process.exit(2)
}
if (
  args.help ||
  !args.api ||
  !args.in ||
  !args.out ||
  !Number.isFinite(args.level) ||
  !['empty', 'error'].includes(args.missing)
) {
  console.error(usage())
  process.exit(args.help ? 0 : 2)
}

// Accept either a file:// URL or a plain path; strip trailing "/" and ".json" so the
// library's `${api}.json` / `${api}/<pref>/<city>.json` concatenation works.
let api = args.api.replace(/\/+$/, '').replace(/\.json$/, '')
if (!/^[a-z]+:\/\//i.test(api)) api = pathToFileURL(api).href
if (!api.startsWith('file://')) {
  console.error(`--api must be a file:// URL (offline benchmark), got: ${api}`)
  process.exit(2)
}

const { normalize, config, requestHandlers } = nja
config.japaneseAddressesApi = api
// Make sure nothing can go to the network: the library only uses this handler for
// http(s) URLs (or when geoloniaApiKey is set, which we never do).
requestHandlers.http = (url) => {
  throw new Error(`network access disabled in benchmark harness: ${url}`)
}
// Count dictionary file reads (and misses) for the stats line, and implement
// --missing: our dictionary only has 埼玉県 municipality files, but ja.json lists every
// municipality in Japan. In 2.10.1 a missing <pref>/<city>.json makes normalize() reject
// with ENOENT (getTowns has no try/catch, and the failure is not cached). With
// --missing empty (default) a missing file is read as an empty list [] instead, i.e. "no
// towns known for that municipality": the library then returns level 2 (pref+city) for
// e.g. 東京都千代田区..., and pref-less inputs whose municipality name also exists in
// another prefecture (美里町... -> 宮城県遠田郡美里町.json) still resolve to 埼玉県.
// With --missing error the library's own behaviour is kept (error recorded per line).
// ja.json itself missing is always fatal.
const fileStats = { reads: 0, missing: 0 }
const origFile = requestHandlers.file
const rootJsonHref = new URL(`${api}.json`).href
requestHandlers.file = (url) => {
  const r = origFile(url)
  return {
    json: async () => {
      fileStats.reads++
      try {
        return await r.json()
      } catch (e) {
        if (e && e.code === 'ENOENT') {
          fileStats.missing++
          if (args.missing === 'empty' && url.href !== rootJsonHref) return []
        }
        throw e
      }
    },
  }
}

// Fail fast (exit 2) if the dictionary root is not readable.
let prefData
try {
  prefData = JSON.parse(readFileSync(new URL(rootJsonHref), 'utf-8'))
} catch (e) {
  console.error(`cannot read dictionary root ${rootJsonHref}: ${e.message}`)
  process.exit(2)
}

const text = readFileSync(args.in, 'utf-8')
const lines = text.split(/\r?\n/)
if (lines.length && lines[lines.length - 1] === '') lines.pop()

// ---- warm-up (not timed in "seconds") ----
const t0 = performance.now()
let warmedCities = 0
if (args.warmup) {
  // normalize('埼玉県<city>') loads ja.json once and then <pref>/<city>.json and builds the
  // town regex list for that city; the library caches both in-process.
  await normalize(WARMUP_PREF, { level: 1 })
  for (const city of prefData[WARMUP_PREF] || []) {
    await normalize(`${WARMUP_PREF}${city}`, { level: 3 })
    warmedCities++
  }
}
const loadSeconds = (performance.now() - t0) / 1000

// ---- timed loop: sequential, await each ----
const out = new Array(lines.length)
let nErrors = 0
const t1 = performance.now()
for (let i = 0; i < lines.length; i++) {
  const input = lines[i]
  try {
    const r = await normalize(input, { level: args.level })
    out[i] = {
      input,
      pref: r.pref ?? null,
      city: r.city ?? null,
      town: r.town ?? null,
      addr: r.addr ?? null,
      level: r.level ?? null,
      lat: r.lat ?? null,
      lng: r.lng ?? null,
      error: null,
    }
  } catch (e) {
    nErrors++
    out[i] = {
      input,
      pref: null,
      city: null,
      town: null,
      addr: null,
      level: null,
      lat: null,
      lng: null,
      error: String((e && e.message) || e),
    }
  }
}
const seconds = (performance.now() - t1) / 1000

writeFileSync(
  args.out,
  out.map((o) => JSON.stringify(o)).join('\n') + (out.length ? '\n' : ''),
)

console.error(
  JSON.stringify({
    n: lines.length,
    seconds,
    load_seconds: loadSeconds,
    rate_per_second: seconds > 0 ? lines.length / seconds : null,
    errors: nErrors,
    level_option: args.level,
    missing: args.missing,
    warmup: args.warmup,
    warmed_cities: warmedCities,
    file_reads: fileStats.reads,
    file_missing: fileStats.missing,
    library: `@geolonia/normalize-japanese-addresses@${LIB_VERSION}`,
    node: process.version,
  }),
)
