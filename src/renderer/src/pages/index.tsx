// Every page but the Overview, by route name.
import type { ComponentType } from 'react';
import type { PeriodChoice } from '../period';
import type { Route } from '../router';
import { Settings } from './Settings';
import { ServiceDetail, Services } from './Services';
import { Trends } from './Trends';
import { Pending } from './Pending';

export interface PageProps {
  readonly route: Route;
  readonly period: PeriodChoice;
  readonly onPeriod: (p: PeriodChoice) => void;
}

export const pages: Record<Exclude<Route['page'], 'overview'>, ComponentType<PageProps>> = {
  trends: Trends,
  peaks: () => <Pending title="Peaks" />,
  services: Services,
  service: ServiceDetail,
  alerts: () => <Pending title="Alerts" />,
  export: () => <Pending title="Export" />,
  settings: Settings,
};
