/** The billing clients behind one factory, for the CLI and the extension. */
import { AnthropicClient } from './anthropic';
import type { HttpOptions, ProviderId } from './http';
import { OpenAIClient } from './openai';
import { OpenRouterClient } from './openrouter';
import type { BillingClient } from './types';

export const PROVIDER_IDS: readonly ProviderId[] = ['anthropic', 'openai', 'openrouter'];

export function makeClient(provider: ProviderId, apiKey: string, baseUrl: string | undefined, http: HttpOptions): BillingClient {
  const o = { ...http, apiKey, ...(baseUrl ? { baseUrl } : {}) };
  switch (provider) {
    case 'anthropic': return new AnthropicClient(o);
    case 'openai': return new OpenAIClient(o);
    case 'openrouter': return new OpenRouterClient(o);
  }
}
