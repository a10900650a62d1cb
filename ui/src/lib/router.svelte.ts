// The app's one piece of navigation state: which screen shows, and for the lead page which lead.

/** A screen of the app. */
export type Route =
  | { screen: 'call' }
  | { screen: 'lead'; id: string }
  | { screen: 'review' }
  | { screen: 'new' }
  | { screen: 'import' }
  | { screen: 'outbound' }
  | { screen: 'letters' }
  | { screen: 'sign-in' }
  | { screen: 'requests' }
  | { screen: 'mailbox' };

/** The tabs under the title bar, in the order of their Alt+digit shortcuts. */
export const TABS = [
  { screen: 'call', label: 'Call session' },
  { screen: 'new', label: 'New leads' },
  { screen: 'review', label: 'Review' },
  { screen: 'import', label: 'Import' },
  { screen: 'outbound', label: 'Share & audiences' },
  { screen: 'letters', label: 'Letters' },
  { screen: 'requests', label: 'Requests' },
  { screen: 'mailbox', label: 'Mailbox' },
] as const satisfies readonly { screen: Route['screen']; label: string }[];

/** The current screen; components read `router.route` and call `go`. */
class Router {
  route = $state<Route>({ screen: 'call' });
  /** How many times sync brought changes; the sync status indicator bumps it. */
  changes = $state(0);
  #onChanges = new Set<() => void>();

  /** Shows another screen. */
  go(route: Route) {
    this.route = route;
  }

  /** Runs `reload` whenever sync applies changes; returns the unsubscribe (an `$effect` cleanup). */
  onChanges(reload: () => void): () => void {
    this.#onChanges.add(reload);
    return () => {
      this.#onChanges.delete(reload);
    };
  }

  /** Tells the open screens that sync applied changes, so they reload. */
  changed() {
    this.changes += 1;
    for (const reload of this.#onChanges) reload();
  }
}

export const router = new Router();
