// Demo shop script: gives Beckon the shop's context variables and reports shop events to it.
(() => {
  'use strict';

  // beckon.js loads async, so it may run before or after this file: the queue stub
  // works either way, and once the loader has run, `q.push` calls go straight through.
  window.Beckon = window.Beckon || { q: [] };
  const beckon = (...call) => window.Beckon.q.push(call);

  // Shown to the agent on the Additional details tab of the conversation.
  beckon('setContextProvider', () => ({ plan: 'pro', cart_value: 42, customer_tier: 'gold' }));

  // A signed-in page passes the customer's identity, which the shop's backend signs: Beckon asks for a
  // fresh token as each chat starts and trusts the signature, never a name the page claims.
  if (document.body.hasAttribute('data-signed-in')) {
    beckon('setAuthenticationTokenProvider', () =>
      fetch('/account/token', { cache: 'no-store' }).then((answer) => {
        if (!answer.ok) throw new Error(`the shop could not sign you in (${answer.status})`);
        return answer.text();
      }));
  }

  const addToCart = document.getElementById('add-to-cart');
  if (addToCart) {
    addToCart.addEventListener('click', () => {
      beckon('track', 'added_to_cart');
      document.getElementById('cart-status').textContent = 'Added to your cart.';
    });
  }

  // There is no shop behind these pages: say so instead of submitting anywhere.
  const checkout = document.getElementById('checkout-form');
  if (checkout) {
    checkout.addEventListener('submit', (event) => {
      event.preventDefault();
      document.getElementById('checkout-status').textContent = 'This is a demo: no order was placed.';
    });
  }
})();
