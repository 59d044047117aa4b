import "./styles.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, type Me, onSignedOut, refresh, signOut } from "./api";
import { StepUpPrompt } from "./components/step-up";
import { ProblemBox } from "./components/ui";
import { AuditPage } from "./pages/audit";
import { CollectionsPage } from "./pages/collections";
import { FirstRunPage } from "./pages/first-run";
import { HealthPage } from "./pages/health";
import { KeysPage } from "./pages/keys";
import { PrivacyPage } from "./pages/privacy";
import { RecordPage } from "./pages/record";
import { SignInPage } from "./pages/sign-in";
import { TablePage } from "./pages/table";
import { UserPage, UsersPage } from "./pages/users";
import { WebhookPage, WebhooksPage } from "./pages/webhooks";
import { useRoute } from "./router";

type Phase =
  | { at: "loading" }
  | { at: "first-run" }
  | { at: "sign-in"; notice?: string }
  | { at: "ready"; me: Me }
  | { at: "failed"; error: unknown };

const nav = [
  ["data", "Data"],
  ["users", "Users"],
  ["keys", "API keys"],
  ["webhooks", "Webhooks"],
  ["audit", "Audit log"],
  ["privacy", "Privacy"],
  ["health", "Health"],
] as const;

async function boot(): Promise<Phase> {
  const setup = await api<{ adminExists: boolean }>("/_/setup.json");
  if (!setup.adminExists) return { at: "first-run" };
  if (!(await refresh())) return { at: "sign-in" };
  const me = await api<Me>("/api/auth/me");
  if (me.role !== "admin") {
    await signOut();
    return { at: "sign-in", notice: `${me.email} is not an admin.` };
  }
  return { at: "ready", me };
}

function App() {
  const [phase, setPhase] = useState<Phase>({ at: "loading" });
  const start = () => {
    setPhase({ at: "loading" });
    boot().then(setPhase, (error) => setPhase({ at: "failed", error }));
  };
  useEffect(start, []);
  useEffect(
    () =>
      onSignedOut(() =>
        setPhase((p) =>
          p.at === "ready" ? { at: "sign-in", notice: "Your session ended; sign in again." } : p,
        ),
      ),
    [],
  );

  switch (phase.at) {
    case "loading":
      return <p class="boot">Loading…</p>;
    case "failed":
      return (
        <main class="center">
          <ProblemBox error={phase.error} onRetry={start} />
        </main>
      );
    case "first-run":
      return <FirstRunPage onRecheck={start} />;
    case "sign-in":
      return (
        <SignInPage notice={phase.notice} onSignedIn={(me) => setPhase({ at: "ready", me })} />
      );
    case "ready":
      return <Shell me={phase.me} />;
  }
}

function Shell({ me }: { me: Me }) {
  const route = useRoute();
  const [section = "data", a, b] = route.parts;
  let page: preact.ComponentChildren;
  if (section === "data" && a === undefined) page = <CollectionsPage />;
  else if (section === "data" && b === undefined) page = <TablePage name={a!} />;
  else if (section === "data") page = <RecordPage name={a!} id={b!} />;
  else if (section === "users" && a === undefined) page = <UsersPage />;
  else if (section === "users") page = <UserPage id={a!} me={me} />;
  else if (section === "keys") page = <KeysPage />;
  else if (section === "webhooks" && a === undefined) page = <WebhooksPage />;
  else if (section === "webhooks") page = <WebhookPage id={a!} />;
  else if (section === "audit") page = <AuditPage />;
  else if (section === "privacy") page = <PrivacyPage />;
  else if (section === "health") page = <HealthPage />;
  else page = <p>Nothing here. Pick a section on the left.</p>;
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <nav class="side" aria-label="Sections">
        <a class="brand" href="#/data">
          Nearbase
        </a>
        <ul>
          {nav.map(([key, label]) => (
            <li key={key}>
              <a href={`#/${key}`} aria-current={section === key ? "page" : undefined}>
                {label}
              </a>
            </li>
          ))}
        </ul>
        <div class="who">
          <span title={me.email}>{me.email}</span>
          <button type="button" class="link" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </nav>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
      <StepUpPrompt />
    </div>
  );
}

render(<App />, document.getElementById("app")!);
