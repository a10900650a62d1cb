// A minimal SMTP submission client for the window tests: the lead answers the rep's mail through
// the real Postfix of scripts/with-test-mail.sh (implicit TLS on its submissions port, AUTH
// PLAIN), as a person's mail program would. Each reply code is checked; a refusal throws with
// the server's words.

import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';

/** Reads SMTP replies off `socket`: `next()` resolves with the next complete reply. */
function replies(socket) {
  let buffer = '';
  const waiting = [];
  const ready = [];
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buffer += chunk;
    // A reply ends with a line whose fourth character is a space ("250 OK", not "250-…").
    for (;;) {
      const match = /(^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(buffer);
      if (!match) break;
      const end = match.index + match[0].length;
      const reply = { code: Number(match[2]), text: buffer.slice(0, end).trim() };
      buffer = buffer.slice(end);
      const waiter = waiting.shift();
      if (waiter) waiter(reply);
      else ready.push(reply);
    }
  });
  return () => (ready.length > 0 ? Promise.resolve(ready.shift()) : new Promise((r) => waiting.push(r)));
}

/**
 * Sends one plain-text message: `headers` (an object) are written as given, before the body.
 * `server` is `{ host, port, ca }` (the CA file path), `login` `{ user, password }`.
 */
export async function sendMail(server, login, from, to, headers, body) {
  const socket = connect({ host: server.host, port: server.port, ca: readFileSync(server.ca) });
  await new Promise((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const next = replies(socket);
  const step = async (line, expected) => {
    if (line !== null) socket.write(`${line}\r\n`);
    const reply = await next();
    if (reply.code !== expected) throw new Error(`SMTP: after ${line?.split(' ')[0] ?? 'connecting'} got ${reply.text}`);
  };
  try {
    await step(null, 220);
    await step('EHLO e2e.example.test', 250);
    await step(`AUTH PLAIN ${Buffer.from(`\0${login.user}\0${login.password}`).toString('base64')}`, 235);
    await step(`MAIL FROM:<${from}>`, 250);
    await step(`RCPT TO:<${to}>`, 250);
    await step('DATA', 354);
    const lines = [
      `From: <${from}>`,
      `To: <${to}>`,
      `Date: ${new Date().toUTCString()}`,
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      'Content-Type: text/plain; charset=utf-8',
      '',
      ...body.split('\n').map((l) => (l.startsWith('.') ? `.${l}` : l)),
    ];
    await step(`${lines.join('\r\n')}\r\n.`, 250);
    await step('QUIT', 221);
  } finally {
    socket.destroy();
  }
}
