// Every page but the Overview, by route name.
import type { ComponentType } from 'react';
import type { PeriodChoice } from '../period';
import type { Route } from '../router';
import { Settings } from './Settings';
import { ServiceDetail, Services } from './Services';
import { Trends } from './Trends';
import { Alerts } from './Alerts';
import { Export } from './Export';
import { Peaks } from './Peaks';
import { Customers } from './Customers';
import { Events } from './Events';
import { Insights } from './Insights';
import { Statement } from './Statement';

export interface PageProps {
  readonly route: Route;
  readonly period: PeriodChoice;
  readonly onPeriod: (p: PeriodChoice) => void;
}

export const pages: Record<Exclude<Route['page'], 'overview'>, ComponentType<PageProps>> = {
  trends: Trends,
  peaks: Peaks,
  services: Services,
  service: ServiceDetail,
  alerts: Alerts,
  customers: Customers,
  events: Events,
  insights: Insights,
  export: Export,
  statement: Statement,
  settings: Settings,
};
