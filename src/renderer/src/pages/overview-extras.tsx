// Quota bars and recent alerts on the Overview; they fill in once the agent offers quotas.
export function QuotaSlot(_props: { service: string }) {
  return null;
}

export function RecentAlerts() {
  return null;
}
