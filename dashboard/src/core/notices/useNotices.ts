import { useContext } from 'react';
import { NoticeContext, type Notices } from './NoticeContext.ts';

export function useNotices(): Notices {
  return useContext(NoticeContext);
}
