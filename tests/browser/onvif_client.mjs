// An ONVIF client nobody here wrote — the npm `onvif` package (agsh/onvif), as NVR software and
// home-automation hubs use it — finds sluiced and asks it what a camera would be asked:
//
//   node onvif_client.mjs [--probe IFACE] [--host H --port P] [--user U --password P]
//
// --probe IFACE: WS-Discovery Probe (multicast 239.255.255.250:3702, sent from IFACE's address);
// the first ProbeMatch's XAddr is the device service to connect to. Otherwise --host/--port name
// it. Then Cam.connect (GetSystemDateAndTime, GetServices or GetCapabilities, GetProfiles,
// GetVideoSources), GetStreamUri and GetSnapshotUri of every profile and GetDeviceInformation.
// Prints one JSON line: {discovered, connected, error, profiles, device}. Exit 0 when it could
// say what happened (a refused connect is a result, not a failure of the script).
import onvif from 'onvif';

const { Cam, Discovery } = onvif;

function option(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const result = { discovered: [], connected: false, error: null, profiles: [], device: null };
const finish = (code = 0) => {
  console.log(JSON.stringify(result));
  process.exit(code);
};
setTimeout(() => {
  result.error = result.error || 'watchdog: no answer within 60 s';
  finish(1);
}, 60000).unref();

function probe(device) {
  return new Promise((resolve) => {
    Discovery.probe({ timeout: 3000, resolve: false, device }, (err, matches) => {
      if (err) result.error = 'probe: ' + String(err);
      for (const m of matches || []) {
        const match = m.probeMatches && m.probeMatches.probeMatch;
        if (!match) continue;
        result.discovered.push({
          endpoint: match.endpointReference && match.endpointReference.address,
          xaddrs: String(match.XAddrs || '').split(' ').filter(Boolean),
          types: match.types,
        });
      }
      resolve();
    });
  });
}

const call = (cam, method, ...args) =>
  new Promise((resolve) => cam[method](...args, (err, value) => resolve({ err, value })));

async function main() {
  let host = option('host', '127.0.0.1');
  let port = Number(option('port', '0'));
  let path = '/onvif/device_service';
  const iface = option('probe', '');
  if (iface) {
    await probe(iface);
    const xaddr = result.discovered.length && result.discovered[0].xaddrs[0];
    if (!xaddr) {
      result.error = result.error || 'no ProbeMatch';
      return finish();
    }
    const url = new URL(xaddr);
    host = url.hostname;
    port = Number(url.port || 80);
    path = url.pathname;
  }
  const cam = new Cam({
    hostname: host,
    port,
    path,
    username: option('user', undefined),
    password: option('password', undefined),
    timeout: 10000,
    autoconnect: false,
  });
  const connected = await new Promise((resolve) => cam.connect((err) => resolve(err)));
  if (connected) {
    result.error = String(connected.message || connected);
    return finish();
  }
  result.connected = true;
  for (const p of cam.profiles || []) {
    const token = p.$.token;
    const encoder = p.videoEncoderConfiguration || {};
    const stream = await call(cam, 'getStreamUri', { protocol: 'RTSP', profileToken: token });
    const snapshot = await call(cam, 'getSnapshotUri', { profileToken: token });
    result.profiles.push({
      token,
      name: p.name,
      encoding: encoder.encoding,
      width: encoder.resolution && Number(encoder.resolution.width),
      height: encoder.resolution && Number(encoder.resolution.height),
      bitrate: encoder.rateControl && Number(encoder.rateControl.bitrateLimit),
      streamUri: stream.err ? 'error: ' + stream.err.message : stream.value.uri,
      snapshotUri: snapshot.err ? 'error: ' + snapshot.err.message : snapshot.value.uri,
    });
  }
  result.videoSources = (cam.videoSources && [].concat(cam.videoSources).length) || 0;
  const info = await call(cam, 'getDeviceInformation');
  result.device = info.err ? 'error: ' + info.err.message : info.value;
  finish();
}

main().catch((e) => {
  result.error = String((e && e.stack) || e);
  finish(1);
});
