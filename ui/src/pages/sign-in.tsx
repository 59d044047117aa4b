import { useState } from "preact/hooks";
import { type Me, type MfaTicket, signIn, signOut, verifyMfa } from "../api";
import { ProblemBox, useAction } from "../components/ui";

export function SignInPage({
  notice,
  onSignedIn,
}: {
  notice?: string | undefined;
  onSignedIn: (me: Me) => void;
}) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [ticket, setTicket] = useState<MfaTicket>();
  const [refused, setRefused] = useState<string | undefined>(notice);
  const action = useAction();

  const finish = async (me: Me) => {
    if (me.role !== "admin") {
      await signOut();
      setTicket(undefined);
      setRefused(`${me.email} is not an admin: this dashboard is for admins only.`);
      return;
    }
    onSignedIn(me);
  };

  const submit = (e: Event) => {
    e.preventDefault();
    setRefused(undefined);
    void action.run(async () => {
      if (ticket !== undefined) return finish(await verifyMfa(ticket.mfaTicket, code.trim()));
      const answer = await signIn(email.trim(), password);
      if ("mfaTicket" in answer) setTicket(answer);
      else await finish(answer);
    });
  };

  return (
    <main class="center">
      <form class="card narrow" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to Nearbase</h1>
        {refused !== undefined && (
          <p class="problem" role="alert">
            {refused}
          </p>
        )}
        <ProblemBox error={action.error} />
        {ticket === undefined ? (
          <>
            <label>
              Email
              <input
                type="email"
                name="email"
                autocomplete="username"
                required
                value={email}
                onInput={(e) => setEmail(e.currentTarget.value)}
              />
            </label>
            <label>
              Password
              <input
                type="password"
                name="password"
                autocomplete="current-password"
                required
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </label>
          </>
        ) : (
          <label>
            Authenticator or recovery code
            <input
              name="code"
              autocomplete="one-time-code"
              inputMode="numeric"
              required
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
          </label>
        )}
        <button type="submit" disabled={action.busy}>
          {action.busy ? "Signing in…" : ticket === undefined ? "Sign in" : "Verify"}
        </button>
      </form>
    </main>
  );
}
