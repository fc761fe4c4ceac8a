/**
 * Type-level checks a strict consumer relies on: each `@ts-expect-error` line must be an error,
 * so `tsc` fails if a type silently became `any` or an augmentation stopped applying.
 */
import Koa from 'koa';
import Router from '@koa/router';
import type { JwtConnect, TokenClaims } from 'koa-jwtconnect';

declare module 'koa-jwtconnect' {
  interface JwtConnectTypes {
    claims: TokenClaims & { email: string };
  }
}

export function wire(auth: JwtConnect, router: Router): void {
  router.get('/typed', auth.authenticate(), (ctx) => {
    const email: string = ctx.state.user.email;
    // @ts-expect-error `sub` is a string, not a number
    const wrong: number = ctx.state.user.sub;
    void email;
    void wrong;
  });
  const app = new Koa();
  app.use(async (ctx, next) => {
    // A host's own keys on ctx.state keep working.
    ctx.state.requestId = 'r-1';
    // Before authenticate() runs, the user may be missing.
    // @ts-expect-error possibly undefined
    const sub: string = ctx.state.user.sub;
    void sub;
    await next();
  });
}
