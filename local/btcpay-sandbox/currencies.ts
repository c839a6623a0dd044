/**
 * The invoice currencies the sandbox store can price in, with their decimal places — the
 * sandbox's own table (BTCPay takes them from its currency name table; a currency it has no rate
 * for cannot be invoiced). ISO 4217 active codes plus BTC and SATS, which BTCPay also accepts.
 */

const ZERO_DECIMALS = 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF SATS';
const THREE_DECIMALS = 'BHD IQD JOD KWD LYD OMR TND';
const FOUR_DECIMALS = 'CLF UYW';
const EIGHT_DECIMALS = 'BTC';
const TWO_DECIMALS = `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF
  CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR
  IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO
  NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS
  TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWL`;

const DIVISIBILITY = new Map<string, number>();
for (const [codes, places] of [
  [TWO_DECIMALS, 2],
  [ZERO_DECIMALS, 0],
  [THREE_DECIMALS, 3],
  [FOUR_DECIMALS, 4],
  [EIGHT_DECIMALS, 8],
] as const) {
  for (const code of codes.split(/\s+/)) if (code) DIVISIBILITY.set(code, places);
}

/** Decimal places of a known currency (upper-case code), undefined for an unknown one. */
export function divisibility(currency: string): number | undefined {
  return DIVISIBILITY.get(currency);
}
