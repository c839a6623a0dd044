import type { Address, Booking, LANGUAGES } from '../domain/booking';
import type { Catalogue } from '../domain/catalogue';
import type { Finding } from '../domain/finding';
import type { TripLeg } from '../domain/trip';
import { formatMoney } from '../../../shared/kernel/money';

/** A language the customer is written to in. */
export type Language = (typeof LANGUAGES)[number];

/** What one e-mail tells the customer; the booking supplies every other fact. */
export type Notice =
  | { type: 'booking.confirmed' }
  | { type: 'booking.cancelled'; refunded: boolean }
  | { type: 'finding.added'; finding: Finding }
  | { type: 'finding.requires-action'; finding: Finding }
  | { type: 'trip.assigned'; leg: TripLeg }
  | { type: 'trip.pickup-completed' }
  | { type: 'trip.delivered' }
  | { type: 'trip.failed'; leg: TripLeg };

/** A rendered e-mail: subject, plain text, and the same content as simple HTML. */
export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** The zone pick-up slots are shown in, whatever the server's zone: the workshops are in Germany. */
export const DISPLAY_TIME_ZONE = 'Europe/Berlin';

const LOCALES: Record<Language, string> = { de: 'de-DE', en: 'en-GB' };

/** Customer languages we have no texts for fall back to German, the business's own language. */
export function languageOf(booking: Booking): Language {
  return booking.customer.language === 'en' ? 'en' : 'de';
}

/**
 * A pick-up slot in Berlin local time: `Dienstag, 24. November 2026, 09:00–11:00 Uhr` or
 * `Tuesday, 24 November 2026, 09:00–11:00 (Berlin time)`. Built from parts rather than
 * `formatRange`, whose separators differ between ICU versions.
 */
export function formatSlot(slotStart: string, slotEnd: string, language: Language): string {
  const locale = LOCALES[language];
  const day = new Intl.DateTimeFormat(locale, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: DISPLAY_TIME_ZONE });
  const time = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: DISPLAY_TIME_ZONE });
  const start = new Date(slotStart);
  const end = new Date(slotEnd);
  const suffix = language === 'de' ? ' Uhr' : ' (Berlin time)';
  const startDay = day.format(start);
  const endDay = day.format(end);
  if (startDay === endDay) return `${startDay}, ${time.format(start)}–${time.format(end)}${suffix}`;
  return `${startDay}, ${time.format(start)} – ${endDay}, ${time.format(end)}${suffix}`;
}

const formatAddress = (address: Address) => `${address.street}, ${address.zip} ${address.city}`;

function formatVehicle(booking: Booking): string {
  const { brand, model, licensePlate } = booking.vehicle;
  return licensePlate ? `${brand} ${model} (${licensePlate})` : `${brand} ${model}`;
}

/** The service's name in the language; the code if the catalogue no longer lists it (the mail must still go out). */
function serviceName(catalogue: Catalogue, booking: Booking, language: Language): string {
  return catalogue.find((item) => item.code === booking.serviceType)?.name[language] ?? booking.serviceType;
}

const samePlace = (a: Address, b: Address) => a.street === b.street && a.zip === b.zip && a.city === b.city;

/** One mail before layout: paragraphs, then a table of facts. */
interface Draft {
  subject: string;
  paragraphs: string[];
  facts: [label: string, value: string][];
}

/** Everything the texts of one language need, computed once per mail. */
interface Facts {
  service: string;
  vehicle: string;
  slot: string;
  pickupAddress: string;
  deliveryAddress: string;
  /** Only when it differs from the pick-up address, so the usual case stays short. */
  separateDelivery: boolean;
  price: string;
  bookingId: string;
  money: (finding: Finding) => string;
}

type Texts = {
  greeting: (name: string) => string;
  closing: string[];
  labels: {
    service: string;
    vehicle: string;
    slot: string;
    pickup: string;
    delivery: string;
    price: string;
    booking: string;
    finding: string;
    findingPrice: string;
  };
  draft: (notice: Notice, facts: Facts) => Draft;
};

function bookingFacts(facts: Facts, labels: Texts['labels'], options: { slot: boolean; price: boolean }): Draft['facts'] {
  const rows: Draft['facts'] = [
    [labels.service, facts.service],
    [labels.vehicle, facts.vehicle],
  ];
  if (options.slot) rows.push([labels.slot, facts.slot]);
  rows.push([labels.pickup, facts.pickupAddress]);
  if (facts.separateDelivery) rows.push([labels.delivery, facts.deliveryAddress]);
  if (options.price) rows.push([labels.price, facts.price]);
  rows.push([labels.booking, facts.bookingId]);
  return rows;
}

const GERMAN: Texts = {
  greeting: (name) => `Guten Tag ${name},`,
  closing: ['Viele Grüße', 'Ihr Service-Team'],
  labels: {
    service: 'Leistung',
    vehicle: 'Fahrzeug',
    slot: 'Abholtermin',
    pickup: 'Abholadresse',
    delivery: 'Rückgabeadresse',
    price: 'Preis',
    booking: 'Buchungsnummer',
    finding: 'Befund',
    findingPrice: 'Preis der Zusatzarbeiten',
  },
  draft(notice, facts) {
    const labels = GERMAN.labels;
    switch (notice.type) {
      case 'booking.confirmed':
        return {
          subject: `Ihre Buchung ist bestätigt: ${facts.service}`,
          paragraphs: [
            'vielen Dank für Ihre Buchung! Ihre Zahlung ist eingegangen, Ihre Buchung ist bestätigt.',
            'Zum vereinbarten Termin holt unser Fahrer Ihr Fahrzeug ab und bringt es nach dem Service wieder zurück.',
          ],
          facts: bookingFacts(facts, labels, { slot: true, price: true }),
        };
      case 'booking.cancelled':
        return {
          subject: `Ihre Buchung wurde storniert: ${facts.service}`,
          paragraphs: [
            'Ihre Buchung wurde storniert. Ihr Fahrzeug wird nicht abgeholt.',
            notice.refunded
              ? `Den bezahlten Betrag von ${facts.price} erstatten wir Ihnen auf das verwendete Zahlungsmittel. Je nach Bank kann die Gutschrift einige Werktage dauern.`
              : 'Für diese Buchung wird Ihnen nichts berechnet.',
          ],
          facts: bookingFacts(facts, labels, { slot: true, price: false }),
        };
      case 'finding.added':
        return {
          subject: 'Zusätzliche Arbeiten an Ihrem Fahrzeug: Ihre Freigabe wird benötigt',
          paragraphs: [
            'bei den Arbeiten an Ihrem Fahrzeug hat unsere Werkstatt zusätzlichen Arbeitsbedarf festgestellt.',
            `Bitte geben Sie die Arbeiten in der App frei oder lehnen Sie sie ab. Erst nach Ihrer Freigabe führen wir sie aus und belasten Ihre hinterlegte Karte mit ${facts.money(notice.finding)}.`,
          ],
          facts: findingFacts(notice.finding, facts, labels),
        };
      case 'finding.requires-action':
        return {
          subject: 'Bitte bestätigen Sie Ihre Zahlung für die Zusatzarbeiten',
          paragraphs: [
            `Ihre Bank möchte die Zahlung von ${facts.money(notice.finding)} für die freigegebenen Zusatzarbeiten von Ihnen bestätigt haben.`,
            'Bitte öffnen Sie die App und bestätigen Sie dort die Zahlung. Solange sie nicht bestätigt ist, ist sie nicht abgeschlossen.',
          ],
          facts: findingFacts(notice.finding, facts, labels),
        };
      case 'trip.assigned':
        return notice.leg === 'pickup'
          ? {
              subject: 'Ihr Fahrer für die Abholung steht fest',
              paragraphs: [
                'ein Fahrer ist für die Abholung Ihres Fahrzeugs eingeteilt und kommt zum vereinbarten Termin.',
                'Bitte halten Sie Fahrzeugschlüssel und Fahrzeugschein bereit.',
              ],
              facts: bookingFacts(facts, labels, { slot: true, price: false }),
            }
          : {
              subject: 'Ihr Fahrzeug ist fertig und kommt zurück',
              paragraphs: [`Ihr Fahrzeug ist fertig. Ein Fahrer ist eingeteilt und bringt es zu Ihnen: ${facts.deliveryAddress}.`],
              facts: [
                [labels.service, facts.service],
                [labels.vehicle, facts.vehicle],
                [labels.delivery, facts.deliveryAddress],
                [labels.booking, facts.bookingId],
              ],
            };
      case 'trip.pickup-completed':
        return {
          subject: 'Fahrzeug wurde abgeholt',
          paragraphs: [
            'Ihr Fahrzeug wurde abgeholt und ist auf dem Weg in die Werkstatt.',
            'Sollten wir beim Service zusätzlichen Arbeitsbedarf feststellen, fragen wir Sie vorher um Ihre Freigabe.',
          ],
          facts: bookingFacts(facts, labels, { slot: false, price: false }),
        };
      case 'trip.failed':
        return {
          subject: notice.leg === 'pickup' ? 'Die Abholung Ihres Fahrzeugs hat nicht geklappt' : 'Die Rückgabe Ihres Fahrzeugs hat nicht geklappt',
          paragraphs: [
            notice.leg === 'pickup'
              ? 'unser Fahrer konnte Ihr Fahrzeug leider nicht wie vereinbart abholen.'
              : 'unser Fahrer konnte Ihr Fahrzeug leider nicht wie vereinbart zurückbringen.',
            'Wir melden uns in Kürze bei Ihnen, um einen neuen Termin zu vereinbaren.',
          ],
          facts: bookingFacts(facts, labels, { slot: notice.leg === 'pickup', price: false }),
        };
      case 'trip.delivered':
        return {
          subject: 'Ihr Fahrzeug wurde zurückgebracht',
          paragraphs: [`Ihr Fahrzeug wurde zurückgebracht: ${facts.deliveryAddress}.`, 'Vielen Dank für Ihr Vertrauen. Gute Fahrt!'],
          facts: [
            [labels.service, facts.service],
            [labels.vehicle, facts.vehicle],
            [labels.booking, facts.bookingId],
          ],
        };
    }
  },
};

const ENGLISH: Texts = {
  greeting: (name) => `Hello ${name},`,
  closing: ['Kind regards', 'Your service team'],
  labels: {
    service: 'Service',
    vehicle: 'Vehicle',
    slot: 'Pick-up time',
    pickup: 'Pick-up address',
    delivery: 'Return address',
    price: 'Price',
    booking: 'Booking number',
    finding: 'Finding',
    findingPrice: 'Price of the extra work',
  },
  draft(notice, facts) {
    const labels = ENGLISH.labels;
    switch (notice.type) {
      case 'booking.confirmed':
        return {
          subject: `Your booking is confirmed: ${facts.service}`,
          paragraphs: [
            'Thank you for your booking! We have received your payment and your booking is confirmed.',
            'Our driver will pick up your car at the agreed time and bring it back after the service.',
          ],
          facts: bookingFacts(facts, labels, { slot: true, price: true }),
        };
      case 'booking.cancelled':
        return {
          subject: `Your booking has been cancelled: ${facts.service}`,
          paragraphs: [
            'Your booking has been cancelled. Your car will not be picked up.',
            notice.refunded
              ? `We are refunding the ${facts.price} you paid to your payment method. Depending on your bank, it may take a few working days to arrive.`
              : 'You will not be charged for this booking.',
          ],
          facts: bookingFacts(facts, labels, { slot: true, price: false }),
        };
      case 'finding.added':
        return {
          subject: 'Extra work on your car: your approval is needed',
          paragraphs: [
            'While working on your car, our workshop found additional work it needs.',
            `Please approve or decline it in the app. We will only carry out the work, and charge ${facts.money(notice.finding)} to your saved card, once you approve it.`,
          ],
          facts: findingFacts(notice.finding, facts, labels),
        };
      case 'finding.requires-action':
        return {
          subject: 'Please confirm your payment for the extra work',
          paragraphs: [
            `Your bank asks you to confirm the payment of ${facts.money(notice.finding)} for the extra work you approved.`,
            'Please open the app and confirm the payment there. It is not complete until you do.',
          ],
          facts: findingFacts(notice.finding, facts, labels),
        };
      case 'trip.assigned':
        return notice.leg === 'pickup'
          ? {
              subject: 'Your pick-up driver has been assigned',
              paragraphs: [
                'A driver has been assigned to pick up your car and will arrive at the agreed time.',
                'Please have the car keys and the vehicle registration document ready.',
              ],
              facts: bookingFacts(facts, labels, { slot: true, price: false }),
            }
          : {
              subject: 'Your car is ready and on its way back',
              paragraphs: [`Your car is ready. A driver has been assigned to bring it to you: ${facts.deliveryAddress}.`],
              facts: [
                [labels.service, facts.service],
                [labels.vehicle, facts.vehicle],
                [labels.delivery, facts.deliveryAddress],
                [labels.booking, facts.bookingId],
              ],
            };
      case 'trip.pickup-completed':
        return {
          subject: 'Your car has been picked up',
          paragraphs: [
            'Your car has been picked up and is on its way to the workshop.',
            'Should we find any additional work during the service, we will ask for your approval first.',
          ],
          facts: bookingFacts(facts, labels, { slot: false, price: false }),
        };
      case 'trip.failed':
        return {
          subject: notice.leg === 'pickup' ? 'We could not pick up your car' : 'We could not return your car',
          paragraphs: [
            notice.leg === 'pickup'
              ? 'Unfortunately our driver could not pick up your car as agreed.'
              : 'Unfortunately our driver could not return your car as agreed.',
            'We will contact you shortly to arrange a new time.',
          ],
          facts: bookingFacts(facts, labels, { slot: notice.leg === 'pickup', price: false }),
        };
      case 'trip.delivered':
        return {
          subject: 'Your car has been returned',
          paragraphs: [`Your car has been returned: ${facts.deliveryAddress}.`, 'Thank you for choosing us. Drive safely!'],
          facts: [
            [labels.service, facts.service],
            [labels.vehicle, facts.vehicle],
            [labels.booking, facts.bookingId],
          ],
        };
    }
  },
};

function findingFacts(finding: Finding, facts: Facts, labels: Texts['labels']): Draft['facts'] {
  return [
    [labels.finding, finding.description],
    [labels.findingPrice, facts.money(finding)],
    [labels.service, facts.service],
    [labels.vehicle, facts.vehicle],
    [labels.booking, facts.bookingId],
  ];
}

const TEXTS: Record<Language, Texts> = { de: GERMAN, en: ENGLISH };

/**
 * Renders one notice for the booking in its customer's language. Uses only what a customer may
 * read: no access token (the booking does not hold it), no payment ids, no card data.
 */
export function renderNotification(notice: Notice, booking: Booking, catalogue: Catalogue): RenderedMail {
  const language = languageOf(booking);
  const texts = TEXTS[language];
  const facts: Facts = {
    service: serviceName(catalogue, booking, language),
    vehicle: formatVehicle(booking),
    slot: formatSlot(booking.pickup.slotStart, booking.pickup.slotEnd, language),
    pickupAddress: formatAddress(booking.pickup.address),
    deliveryAddress: formatAddress(booking.delivery.address),
    separateDelivery: !samePlace(booking.pickup.address, booking.delivery.address),
    price: formatMoney({ cents: booking.priceCents, currency: booking.currency }, language),
    bookingId: booking.id,
    money: (finding) => formatMoney({ cents: finding.priceCents, currency: finding.currency }, language),
  };
  const draft = texts.draft(notice, facts);
  const greeting = texts.greeting(booking.customer.name);
  return { subject: draft.subject, text: toText(draft, greeting, texts.closing), html: toHtml(draft, greeting, texts.closing, language) };
}

function toText(draft: Draft, greeting: string, closing: string[]): string {
  const width = Math.max(...draft.facts.map(([label]) => label.length));
  const facts = draft.facts.map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${value}`);
  return [greeting, '', ...draft.paragraphs.flatMap((paragraph) => [paragraph, '']), ...facts, '', ...closing, ''].join('\n');
}

// Names, addresses, vehicle and finding descriptions are typed by people: escape all of it.
const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch);

function toHtml(draft: Draft, greeting: string, closing: string[], language: Language): string {
  const rows = draft.facts
    .map(([label, value]) => `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('');
  return [
    `<!doctype html><html lang="${language}"><head><meta charset="utf-8"><title>${escapeHtml(draft.subject)}</title></head>`,
    '<body style="font-family:sans-serif;line-height:1.5">',
    `<p>${escapeHtml(greeting)}</p>`,
    ...draft.paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`),
    `<table>${rows}</table>`,
    `<p>${closing.map(escapeHtml).join('<br>')}</p>`,
    '</body></html>',
  ].join('\n');
}
