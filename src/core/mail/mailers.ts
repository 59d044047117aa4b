import type { LogSink } from "../kernel/log";
import type { Mailer, MailMessage } from "../kernel/ports";
import { tracedFetch } from "../observability/fetch";

export interface RecordingMailer extends Mailer {
  /** Messages sent so far, newest last (tests and developers read them). */
  readonly sent: MailMessage[];
}

/**
 * The development mailer: keeps messages in memory, hands each to `deliver` (the Node home
 * writes them under ./data/outbox) and logs one line with recipient and subject only — message
 * bodies carry single-use tokens and never go to the log unless `logBodies` (local dev only).
 */
export function recordingMailer(
  log: LogSink,
  options: { deliver?: (m: MailMessage) => Promise<string | undefined>; logBodies?: boolean } = {},
): RecordingMailer {
  const sent: MailMessage[] = [];
  return {
    implemented: true,
    sent,
    async send(message) {
      sent.push(message);
      if (sent.length > 1000) sent.shift();
      const where = await options.deliver?.(message);
      log.write({
        level: "info",
        msg: "mail recorded (development mailer; set MAIL_API_URL to send)",
        to: message.to,
        subject: message.subject,
        ...(where ? { file: where } : {}),
        ...(options.logBodies ? { text: message.text } : {}),
      });
    },
  };
}

/**
 * The mailer for a configuration, chosen in one place for both homes: the HTTP provider when
 * MAIL_API_URL and MAIL_API_KEY are set, else the home's development mailer.
 */
export function configuredMailer(
  mail: { apiUrl: string | undefined; apiKey: string | undefined; from: string },
  development: () => Mailer,
): Mailer {
  return mail.apiUrl !== undefined && mail.apiKey !== undefined
    ? httpMailer({ url: mail.apiUrl, apiKey: mail.apiKey, from: mail.from })
    : development();
}

/**
 * Sends through an HTTP mail API taking `{from, to, subject, text, html}` as JSON with a Bearer
 * key (Resend's shape; Postmark/SendGrid-style providers need a small proxy or another adapter).
 */
export function httpMailer(options: { url: string; apiKey: string; from: string }): Mailer {
  return {
    implemented: true,
    async send(message) {
      const res = await tracedFetch(options.url, {
        method: "POST",
        headers: { authorization: `Bearer ${options.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({
          from: options.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
        }),
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`mail provider answered ${res.status}`);
    },
  };
}
