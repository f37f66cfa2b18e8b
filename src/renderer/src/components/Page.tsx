// A page's frame: its title, tools beside it, and the content.
import type { ReactNode } from 'react';

export function Page({
  title,
  tools,
  children,
  ready,
  testId,
}: {
  title: string;
  tools?: ReactNode;
  children: ReactNode;
  ready?: boolean;
  testId?: string;
}) {
  return (
    <section className="page" aria-labelledby={`${testId ?? title}-title`} data-testid={testId} data-ready={ready ? 'true' : undefined}>
      <header className="page-header">
        <h1 id={`${testId ?? title}-title`}>{title}</h1>
        {tools ? <div className="page-tools">{tools}</div> : null}
      </header>
      {children}
    </section>
  );
}
