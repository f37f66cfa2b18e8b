// Settings: prices (and quotas, collectors and sync once the agent offers them).
import { Page } from '../components/Page';
import { PricesSection } from './Prices';

export function Settings() {
  return (
    <Page title="Settings" testId="settings">
      <section className="panel" aria-labelledby="settings-prices">
        <h2 id="settings-prices">Prices</h2>
        <PricesSection />
      </section>
    </Page>
  );
}
