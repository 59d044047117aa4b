import { useEffect, useRef, useState } from "preact/hooks";
import { api, canUsePasskey, onStepUp, stepUp, stepUpWithPasskey } from "../api";
import { ProblemBox, useAction } from "./ui";

/**
 * The prompt for 401 STEP_UP_REQUIRED (creating an API key with a token that came from a refresh,
 * which carries no `auth_time`): a modal <dialog> that asks for the password, or the authenticator
 * code when the account has two-factor sign-in (then the password is not enough — see
 * core/accounts/step-up-flow.ts), posts it to /api/auth/step-up and lets the refused request
 * run again. An account with passkeys can use one instead, where the browser has WebAuthn. Cancel (or Escape) leaves the action refused with the problem shown where it was.
 */
export function StepUpPrompt() {
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const settle = useRef<((ok: boolean) => void) | undefined>(undefined);
  const [totp, setTotp] = useState<boolean>();
  const [passkey, setPasskey] = useState(false);
  const [value, setValue] = useState("");
  const act = useAction();

  useEffect(
    () =>
      onStepUp(async () => {
        act.setError(undefined);
        setValue("");
        setTotp(undefined);
        setPasskey(false);
        const [status, passkeys] = await Promise.all([
          api<{ totp: boolean }>("/api/auth/mfa").catch(() => ({ totp: false })),
          canUsePasskey()
            ? api<{ items: unknown[] }>("/api/auth/passkeys").catch(() => ({ items: [] }))
            : { items: [] },
        ]);
        setTotp(status.totp);
        setPasskey(passkeys.items.length > 0);
        return new Promise<boolean>((resolve) => {
          settle.current = resolve;
          dialog.current?.showModal();
          setTimeout(() => input.current?.focus(), 0);
        });
      }),
    [],
  );

  const close = (ok: boolean) => {
    const resolve = settle.current;
    settle.current = undefined;
    if (dialog.current?.open) dialog.current.close();
    resolve?.(ok);
  };

  const prove = (work: () => Promise<void>) =>
    void act.run(async () => {
      await work();
      close(true);
    });
  const submit = (e: Event) => {
    e.preventDefault();
    prove(() => stepUp(totp ? { code: value.trim() } : { password: value }));
  };

  return (
    <dialog
      ref={dialog}
      class="step-up"
      aria-labelledby="step-up-title"
      onCancel={(e) => {
        e.preventDefault();
        close(false);
      }}
    >
      <form onSubmit={submit}>
        <h2 id="step-up-title">Confirm it is you</h2>
        <p class="muted">
          This action needs a recent sign-in.{" "}
          {totp ? "Enter a code from your authenticator app." : "Enter your password to go on."}
          {passkey && " Or use one of your passkeys."}
        </p>
        <ProblemBox error={act.error} />
        {totp ? (
          <label>
            Authenticator code
            <input
              ref={input}
              name="step-up-code"
              autocomplete="one-time-code"
              inputMode="numeric"
              required
              value={value}
              onInput={(e) => setValue(e.currentTarget.value)}
            />
          </label>
        ) : (
          <label>
            Password
            <input
              ref={input}
              name="step-up-password"
              type="password"
              autocomplete="current-password"
              required
              value={value}
              onInput={(e) => setValue(e.currentTarget.value)}
            />
          </label>
        )}
        <div class="actions">
          <button type="submit" disabled={act.busy || totp === undefined}>
            Confirm
          </button>
          {passkey && (
            <button type="button" disabled={act.busy} onClick={() => prove(stepUpWithPasskey)}>
              Use a passkey
            </button>
          )}
          <button type="button" class="link" onClick={() => close(false)}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
