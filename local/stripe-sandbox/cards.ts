/**
 * Stripe's test payment methods the sandbox knows. Using a token (`pm_card_visa`) in a payment
 * creates a fresh PaymentMethod (`pm_…`) with that card's behaviour, as Stripe does; the token
 * itself never gets attached to anything.
 */

/** What happens when the card is charged. */
export type CardBehaviour =
  | { kind: 'succeed' }
  | { kind: 'decline'; declineCode: string; message: string }
  /** 3-D Secure on every payment: `requires_action` on-session, `authentication_required` off-session. */
  | { kind: 'authenticate' };

export interface TestCard {
  token: string;
  brand: 'visa' | 'mastercard';
  last4: string;
  funding: 'credit' | 'debit';
  country: string;
  fingerprint: string;
  behaviour: CardBehaviour;
}

const declined = (declineCode: string, message: string): CardBehaviour => ({ kind: 'decline', declineCode, message });

const CARDS: readonly TestCard[] = [
  { token: 'pm_card_visa', brand: 'visa', last4: '4242', funding: 'credit', country: 'US', fingerprint: 'sbxVisa4242aaaaa', behaviour: { kind: 'succeed' } },
  {
    token: 'pm_card_visa_debit',
    brand: 'visa',
    last4: '5556',
    funding: 'debit',
    country: 'US',
    fingerprint: 'sbxVisaDeb5556aa',
    behaviour: { kind: 'succeed' },
  },
  {
    token: 'pm_card_mastercard',
    brand: 'mastercard',
    last4: '4444',
    funding: 'credit',
    country: 'US',
    fingerprint: 'sbxMc4444aaaaaaa',
    behaviour: { kind: 'succeed' },
  },
  {
    token: 'pm_card_chargeDeclined',
    brand: 'visa',
    last4: '0002',
    funding: 'credit',
    country: 'US',
    fingerprint: 'sbxDecl0002aaaaa',
    behaviour: declined('generic_decline', 'Your card was declined.'),
  },
  {
    token: 'pm_card_chargeDeclinedInsufficientFunds',
    brand: 'visa',
    last4: '9995',
    funding: 'credit',
    country: 'US',
    fingerprint: 'sbxFunds9995aaaa',
    behaviour: declined('insufficient_funds', 'Your card has insufficient funds.'),
  },
  {
    token: 'pm_card_authenticationRequired',
    brand: 'visa',
    last4: '3184',
    funding: 'credit',
    country: 'DE',
    fingerprint: 'sbxAuth3184aaaaa',
    behaviour: { kind: 'authenticate' },
  },
];

/** The test card a token names, if any. */
export const testCardOf = (token: string): TestCard | undefined => CARDS.find((card) => card.token === token);
