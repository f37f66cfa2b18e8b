// Settings: quotas, services, prices, sync targets and collectors, each validated by the agent with the field named.
import { Page } from '../components/Page';
import { CollectorsSection } from './CollectorsSettings';
import { PricesSection } from './Prices';
import { ServicesSection } from './ServiceSettings';
import { QuotasSection } from './Quotas';
import { SyncSection } from './SyncSettings';
import { HooksSection, ScheduleSection } from './ScheduleSettings';

export function Settings() {
  return (
    <Page title="Settings" testId="settings">
      <section className="panel" aria-labelledby="settings-quotas">
        <h2 id="settings-quotas">Quotas</h2>
        <QuotasSection />
      </section>
      <section className="panel" aria-labelledby="settings-services">
        <h2 id="settings-services">Services</h2>
        <ServicesSection />
      </section>
      <section className="panel" aria-labelledby="settings-prices">
        <h2 id="settings-prices">Prices</h2>
        <PricesSection />
      </section>
      <section className="panel" aria-labelledby="settings-sync">
        <h2 id="settings-sync">Sync</h2>
        <SyncSection />
      </section>
      <section className="panel" aria-labelledby="settings-collectors">
        <h2 id="settings-collectors">Collectors</h2>
        <CollectorsSection />
      </section>
      <section className="panel" aria-labelledby="settings-schedule">
        <h2 id="settings-schedule">Maintenance schedule</h2>
        <ScheduleSection />
      </section>
      <section className="panel" aria-labelledby="settings-hooks">
        <h2 id="settings-hooks">Alert hooks</h2>
        <HooksSection />
      </section>
    </Page>
  );
}
