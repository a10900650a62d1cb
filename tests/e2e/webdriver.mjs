// A minimal W3C WebDriver client over fetch: only what the window tests use.

const ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecc';

/** A failed WebDriver call, with the remote end's error code. */
export class WebDriverError extends Error {
  constructor(method, path, status, value) {
    super(`${method} ${path} -> ${status} ${value?.error ?? ''}: ${value?.message ?? JSON.stringify(value)}`);
    this.name = 'WebDriverError';
    this.error = value?.error;
  }
}

async function request(base, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let payload;
  try {
    payload = text ? JSON.parse(text) : {};
  } catch {
    throw new WebDriverError(method, path, response.status, { message: text });
  }
  if (!response.ok || payload?.value?.error) {
    throw new WebDriverError(method, path, response.status, payload.value);
  }
  return payload.value;
}

/** One WebDriver session: a running app window. */
export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  /** Starts a session; `capabilities` goes into `alwaysMatch`. */
  static async create(base, capabilities) {
    const value = await request(base, 'POST', '/session', {
      capabilities: { alwaysMatch: capabilities, firstMatch: [{}] },
    });
    return new Session(base, value.sessionId);
  }

  call(method, path, body) {
    return request(this.base, method, `/session/${this.id}${path}`, body);
  }

  /** The elements matching a CSS selector, as element ids. */
  async findAll(css) {
    const found = await this.call('POST', '/elements', { using: 'css selector', value: css });
    return found.map((element) => element[ELEMENT_KEY]);
  }

  /** The rendered text of an element. */
  text(elementId) {
    return this.call('GET', `/element/${elementId}/text`);
  }

  /** An element's attribute, or null. */
  attribute(elementId, name) {
    return this.call('GET', `/element/${elementId}/attribute/${encodeURIComponent(name)}`);
  }

  /** Runs a script in the page and returns its result. */
  execute(script, args = []) {
    return this.call('POST', '/execute/sync', { script, args });
  }

  /** Sends key strokes to an element. */
  sendKeys(elementId, text) {
    return this.call('POST', `/element/${elementId}/value`, { text });
  }

  /** A PNG of the window. */
  async screenshot() {
    return Buffer.from(await this.call('GET', '/screenshot'), 'base64');
  }

  /** The window's title. */
  title() {
    return this.call('GET', '/title');
  }

  /** Ends the session, closing the app. */
  async close() {
    await request(this.base, 'DELETE', `/session/${this.id}`);
  }
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(what, probe, timeoutMs = 20000, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`);
}
