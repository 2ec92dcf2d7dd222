// The request loop both pages share: mark the page busy, ask the agent, render the view it
// answers with, or show the page's own "not answering" screen when the request fails.
import type { RequestChannel, RequestOf } from '../../preload/contract';
import { agentApi } from './agent';

export type ClientEvent<V> =
  | { readonly type: 'request' }
  | { readonly type: 'reply' }
  | { readonly type: 'view'; readonly view: V }
  | { readonly type: 'request-failed'; readonly message: string };

function isView(x: unknown): boolean {
  return typeof x === 'object' && x !== null && 'screen' in x && 'seq' in x;
}

/** A `request` for this page: its replies that are views are dispatched as views. */
export function pageRequester<V>(dispatch: (event: ClientEvent<V>) => void) {
  const api = agentApi();
  return async function request<C extends RequestChannel>(channel: C, payload: RequestOf<C>): Promise<unknown> {
    dispatch({ type: 'request' });
    try {
      const reply: unknown = await api.request(channel, payload);
      dispatch({ type: 'reply' });
      if (isView(reply)) dispatch({ type: 'view', view: reply as V });
      return reply;
    } catch (err) {
      dispatch({ type: 'request-failed', message: err instanceof Error ? err.message : String(err) });
      return null;
    }
  };
}
