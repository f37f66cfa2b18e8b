import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { TransportProvider } from './api';
import { pickTransport } from './transport/index';
import './styles.css';

const transport = pickTransport();
document.documentElement.dataset.transport = transport.kind;
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <TransportProvider transport={transport}>
      <App />
    </TransportProvider>
  </StrictMode>,
);
