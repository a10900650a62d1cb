// The app's one piece of navigation state: which screen shows, and for the lead page which lead.

/** A screen of the app. */
export type Route =
  | { screen: 'call' }
  | { screen: 'lead'; id: string }
  | { screen: 'review' }
  | { screen: 'new' }
  | { screen: 'import' }
  | { screen: 'outbound' }
  | { screen: 'requests' };

/** The current screen; components read `router.route` and call `go`. */
class Router {
  route = $state<Route>({ screen: 'call' });

  /** Shows another screen. */
  go(route: Route) {
    this.route = route;
  }
}

export const router = new Router();
