// First: zod must be jitless before any schema is built (CSP without eval).
import '../schema/jitless.ts';
import { render } from 'preact';
import { App } from './App.tsx';
import './styles.css';

render(<App />, document.getElementById('app')!);
