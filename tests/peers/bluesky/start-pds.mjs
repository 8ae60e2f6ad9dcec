// start-pds.mjs - the reference @atproto/pds plus an in-memory PLC directory, on 127.0.0.1 only.
// Run by tests/peers/bluesky/fixtures.py from .pds/ (setup.sh copies it there so that the
// packages in .pds/node_modules resolve).
// env: PDS_PORT, PLC_PORT (required: the fixture picks free ports), PDS_DATA_DIR (parent dir),
//      PDS_RATE_LIMITS=1 (in-memory rate limiter), PDS_BLOB_UPLOAD_LIMIT (bytes, default 5 MiB),
//      LOG_ENABLED=true (pino JSON logs on stdout).
// Prints "READY {json}" when up; SIGTERM/SIGINT stops both servers and deletes the data dir.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

// @atproto/pds and @did-plc/server call app.listen(port), i.e. on every interface: force loopback.
const origListen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1')
  else if (args[0] && typeof args[0] === 'object' && args[0].port !== undefined && !args[0].host)
    args[0] = { ...args[0], host: '127.0.0.1' }
  return origListen.apply(this, args)
}

const t0 = Date.now()
const { PDS } = await import('@atproto/pds')
const { Secp256k1Keypair } = await import('@atproto/crypto')
const plcMod = await import('@did-plc/server')
const plc = plcMod.default ?? plcMod // CommonJS bundle

const plcPort = Number(process.env.PLC_PORT)
const pdsPort = Number(process.env.PDS_PORT)
if (!plcPort || !pdsPort) throw new Error('PDS_PORT and PLC_PORT are required')
const base = process.env.PDS_DATA_DIR || os.tmpdir()
fs.mkdirSync(base, { recursive: true })
const dataDir = fs.mkdtempSync(path.join(base, 'pds-'))
for (const d of ['data', 'blobs']) fs.mkdirSync(path.join(dataDir, d))

let plcServer
let pds
let closing = false
const shutdown = async (sig) => {
  if (closing) return
  closing = true
  for (const s of [pds, plcServer]) {
    try {
      if (s) await s.destroy()
    } catch (e) {
      console.error(e)
    }
  }
  fs.rmSync(dataDir, { recursive: true, force: true })
  console.error(`stopped on ${sig}`)
  process.exit(0)
}
process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))

try {
  plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: plcPort })
  await plcServer.start()
  const rotationKey = await Secp256k1Keypair.create({ exportable: true })
  pds = await PDS.fromEnv({
    devMode: true, // public URL http://localhost:<port>, no SSRF protection
    port: pdsPort,
    hostname: 'localhost',
    dataDirectory: path.join(dataDir, 'data'),
    blobstoreDiskLocation: path.join(dataDir, 'blobs'),
    didPlcUrl: `http://127.0.0.1:${plcPort}`,
    serviceHandleDomains: ['.test'],
    jwtSecret: 'jwt-secret',
    adminPassword: 'admin-pass',
    plcRotationKeyK256PrivateKeyHex: Buffer.from(await rotationKey.export()).toString('hex'),
    inviteRequired: false,
    rateLimitsEnabled: process.env.PDS_RATE_LIMITS === '1',
    blobUploadLimit: Number(process.env.PDS_BLOB_UPLOAD_LIMIT) || undefined,
    crawlers: [],
    // no bskyAppViewUrl / modServiceUrl: app.bsky.* reads answer 400 "No service configured"
  })
  await pds.start()
} catch (e) {
  console.error(e)
  fs.rmSync(dataDir, { recursive: true, force: true })
  process.exit(1)
}

console.log('READY ' + JSON.stringify({
  pds: `http://127.0.0.1:${pdsPort}`, plc: `http://127.0.0.1:${plcPort}`, handleDomain: '.test',
  adminPassword: 'admin-pass', dataDir, startupMs: Date.now() - t0, pid: process.pid,
}))
