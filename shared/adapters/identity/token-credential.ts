import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import type { IdentityCredentialSettings } from '../../config';

/**
 * The TokenCredential of an identity-based connection, as the Functions host builds it from
 * `<NAME>__credential` / `<NAME>__clientId`: `managedidentity` is ManagedIdentityCredential (the
 * user-assigned identity `clientId` names), anything else a developer's DefaultAzureCredential.
 * @azure/identity (MSAL with it) is loaded on the first token, so connection strings cost nothing and
 * identity-based start-ups pay for it off the cold-start path of the module graph.
 */
export function identityCredential(settings: IdentityCredentialSettings): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  const load = async (): Promise<TokenCredential> => {
    const identity = await import('@azure/identity');
    if (settings.kind === 'developer') return new identity.DefaultAzureCredential();
    return new identity.ManagedIdentityCredential(settings.clientId ? { clientId: settings.clientId } : {});
  };
  return {
    // Both parameters are declared: the SDKs tell a TokenCredential from a key credential by getToken's arity.
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      credential ??= load();
      return (await credential).getToken(scopes, options);
    },
  };
}
