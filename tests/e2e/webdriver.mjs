// A minimal W3C WebDriver client over fetch: only what the window tests use.

/** The W3C key under which an element reference travels. */
export const ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf';

/** An element id as a script argument. */
export function elementRef(id) {
  return { [ELEMENT_KEY]: id };
}

/** A failed WebDriver call, with the remote end's error code. */
export class WebDriverError extends Error {
  constructor(method, path, status, value) {
    super(`${method} ${path} -> ${status} ${value?.error ?? ''}: ${value?.message ?? JSON.stringify(value)}`);
    this.name = 'WebDriverError';
    this.error = value?.error;
  }
}

/** No single WebDriver call may hang the run: a stuck one fails after this long. */
const REQUEST_TIMEOUT_MS = 60000;

async function request(base, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
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
    // tauri-driver sometimes drops the connection of a new-session request while other windows
    // start on the same machine ("fetch failed: other side closed"); a dropped connection is
    // asked again, twice at most. An answer with a WebDriver error is never retried.
    for (let attempt = 1; ; attempt += 1) {
      try {
        const value = await request(base, 'POST', '/session', {
          capabilities: { alwaysMatch: capabilities, firstMatch: [{}] },
        });
        return new Session(base, value.sessionId);
      } catch (error) {
        const dropped = error instanceof TypeError && error.message === 'fetch failed';
        if (!dropped || attempt === 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
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
    // WebKitWebDriver's own Get Element Text answers '' for this app's elements (seen with
    // WebKitGTK 2.50 under Xvfb), so the text is read the way that command defines it: innerText.
    return this.execute('return arguments[0].innerText', [elementRef(elementId)]);
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

  /** Empties an input or textarea. */
  clear(elementId) {
    return this.call('POST', `/element/${elementId}/clear`, {});
  }

  /** Runs an async script; it calls its last argument with the result. */
  executeAsync(script, args = []) {
    return this.call('POST', '/execute/async', { script, args });
  }

  /** A PNG of the window as it looks now. */
  async screenshot() {
    // WebKitWebDriver shows the last frame it composited, which can predate the latest DOM
    // change: wait for two animation frames so the change is painted first.
    await this.executeAsync(
      'const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));',
    );
    // Without compositing (the app's default, src-tauri/src/webview_tuning.rs) WebKit presents a
    // frame only when something paints, and the screenshot waits for the next one: keep an
    // invisible outline toggling until the shot is taken.
    await this.execute(`
      const root = document.documentElement;
      window.__e2eNudge = setInterval(() => {
        root.style.outline = root.style.outline ? '' : '1px solid transparent';
      }, 40);`);
    try {
      return Buffer.from(await this.call('GET', '/screenshot'), 'base64');
    } finally {
      await this.execute('clearInterval(window.__e2eNudge); document.documentElement.style.outline = "";');
    }
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
