import { Page } from '../components/Page';
import { Empty } from '../components/States';

export function Pending({ title }: { title: string }) {
  return (
    <Page title={title}>
      <Empty title="Not available from this agent yet" />
    </Page>
  );
}
