// The npm `mqtt` client (what browser and Node.js devices use) against sluiced's broker:
//   node mqtt_flow.mjs TCP_PORT HTTP_PORT
// over TCP (MQTT 3.1.1) and over WebSocket at /mqtt (MQTT 5): QoS 1 delivery, a retained
// message for a later subscriber, a last will when a connection drops, and an MQTT 5 advertise
// with a response topic that answers with the registered stream. Prints one JSON object with
// what each client saw; exits 1 on a timeout or an error.
import mqtt from 'mqtt';

const [tcpPort, httpPort] = process.argv.slice(2);
const tcpUrl = `mqtt://127.0.0.1:${tcpPort}`;
const wsUrl = `ws://127.0.0.1:${httpPort}/mqtt`;
const result = {};
const deadline = setTimeout(() => {
  console.log(JSON.stringify({ error: 'timeout', ...result }));
  process.exit(1);
}, 20000);

function connect(url, options) {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

function nextMessage(client, match) {
  return new Promise((resolve) => {
    const on = (topic, payload, packet) => {
      if (!match(topic)) return;
      client.off('message', on);
      resolve({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos,
                properties: packet.properties ?? {} });
    };
    client.on('message', on);
  });
}

try {
  const watcher = await connect(wsUrl, { protocolVersion: 5, clientId: 'ws-watcher' });
  await watcher.subscribeAsync('stage/#', { qos: 1 });

  const device = await connect(tcpUrl, {
    protocolVersion: 4, clientId: 'tcp-device', keepalive: 30,
    will: { topic: 'stage/device/status', payload: 'offline', qos: 1, retain: false },
  });
  const live = nextMessage(watcher, (t) => t === 'stage/light/1');
  await device.publishAsync('stage/light/1', 'on', { qos: 1, retain: true });
  result.live = await live;

  const late = await connect(tcpUrl, { protocolVersion: 4, clientId: 'late' });
  const retained = nextMessage(late, (t) => t === 'stage/light/1');
  await late.subscribeAsync('stage/light/+', { qos: 1 });
  result.retained = await retained;

  const will = nextMessage(watcher, (t) => t === 'stage/device/status');
  device.stream.destroy();  // the cable is pulled: no DISCONNECT
  result.will = await will;

  const reply = nextMessage(watcher, (t) => t === 'replies/ws-watcher');
  await watcher.subscribeAsync('replies/ws-watcher', { qos: 1 });
  await watcher.publishAsync('maestra/stream/advertise',
    JSON.stringify({ name: 'ws-sensor', stream_type: 'sensor', protocol: 'udp', port: 9100 }),
    { qos: 1, properties: { responseTopic: 'replies/ws-watcher',
                            correlationData: Buffer.from('req-1') } });
  result.reply = await reply;
  result.reply.correlation = result.reply.properties.correlationData?.toString();

  await Promise.all([watcher.endAsync(), late.endAsync()]);
  clearTimeout(deadline);
  console.log(JSON.stringify(result));
  process.exit(0);
} catch (e) {
  console.log(JSON.stringify({ error: String(e?.message ?? e), ...result }));
  process.exit(1);
}
