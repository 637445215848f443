import { createContext } from 'react';

export interface Notices {
  /** Shows an error as a dismissable message; never throws. */
  report: (error: unknown) => void;
}

export const NoticeContext = createContext<Notices>({ report: (error) => console.error(error) });
