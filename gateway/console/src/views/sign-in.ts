/** Sign in (POST /v1/auth/token, then GET /v1/me) and sign up (POST /v1/auth/signup, self-service roles). */
import { api, setSession } from '../api';
import { h } from '../dom';
import { type MessageKey, t } from '../i18n';
import { describeError } from './common';

const selfServiceRoles = ['backer', 'creator', 'enterprise', 'solver', 'investor', 'issuer'] as const;
/** The gateway's rule for new passwords (identity/schemas.ts). */
const passwordLengthMin = 12;

interface Me {
  readonly participantId: string;
  readonly displayName: string;
  readonly roles: string[];
}

function field(label: string, input: HTMLInputElement, hint?: string): HTMLElement {
  const id = input.id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint', id: hintId }, hint) : undefined);
}

async function signIn(email: string, password: string): Promise<void> {
  const issued = await api<{ accessToken: string }>('POST', '/v1/auth/token', { body: { email, password } });
  setSession({ token: issued.accessToken, participantId: '', displayName: email, roles: [] });
  const me = await api<Me>('GET', '/v1/me');
  setSession({ token: issued.accessToken, participantId: me.participantId, displayName: me.displayName, roles: me.roles });
}

export function renderSignIn(main: HTMLElement, signedIn: () => void): void {
  const signInMessage = h('div', { class: 'form-message', role: 'alert', 'aria-live': 'assertive' });
  const signUpMessage = h('div', { class: 'form-message', 'aria-live': 'polite' });

  const email = h('input', { id: 'sign-in-email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: 'sign-in-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const signInButton = h('button', { type: 'submit', class: 'button button-primary' }, t('signIn.submit'));
  const signInForm = h(
    'form',
    {
      class: 'form',
      'aria-labelledby': 'sign-in-heading',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        signInButton.disabled = true;
        signInMessage.textContent = '';
        try {
          await signIn(email.value.trim(), password.value);
          signedIn();
        } catch (error) {
          setSession(undefined);
          signInMessage.textContent = describeError(error);
        } finally {
          signInButton.disabled = false;
        }
      },
    },
    field(t('field.email'), email),
    field(t('field.password'), password),
    signInMessage,
    signInButton,
  );

  const upEmail = h('input', { id: 'sign-up-email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const upPassword = h('input', { id: 'sign-up-password', name: 'password', type: 'password', autocomplete: 'new-password', minlength: passwordLengthMin, required: true });
  const upName = h('input', { id: 'sign-up-name', name: 'displayName', autocomplete: 'nickname', required: true, maxlength: 100 });
  const roleBoxes = selfServiceRoles.map((role) => h('input', { type: 'checkbox', name: 'roles', value: role, id: `role-${role}`, checked: role === 'backer' }));
  const signUpButton = h('button', { type: 'submit', class: 'button' }, t('signUp.submit'));
  const signUpForm = h(
    'form',
    {
      class: 'form',
      'aria-labelledby': 'sign-up-heading',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const roles = roleBoxes.filter((box) => box.checked).map((box) => box.value);
        signUpMessage.className = 'form-message';
        if (roles.length === 0) {
          signUpMessage.textContent = t('signUp.pickRole');
          signUpMessage.classList.add('is-error');
          return;
        }
        signUpButton.disabled = true;
        try {
          await api('POST', '/v1/auth/signup', { body: { email: upEmail.value.trim(), password: upPassword.value, displayName: upName.value.trim(), roles } });
          await signIn(upEmail.value.trim(), upPassword.value);
          signedIn();
        } catch (error) {
          setSession(undefined);
          signUpMessage.textContent = describeError(error);
          signUpMessage.classList.add('is-error');
        } finally {
          signUpButton.disabled = false;
        }
      },
    },
    field(t('field.email'), upEmail),
    field(t('field.password'), upPassword, t('signUp.passwordHint', { min: passwordLengthMin })),
    field(t('field.displayName'), upName),
    h(
      'fieldset',
      { class: 'roles' },
      h('legend', {}, t('signUp.roles')),
      ...roleBoxes.map((box) =>
        h('label', { class: 'check', for: box.id }, box, h('span', {}, h('strong', {}, t(`role.${box.value}` as MessageKey)), h('small', {}, t(`role.${box.value}.hint` as MessageKey)))),
      ),
    ),
    signUpMessage,
    signUpButton,
  );

  main.replaceChildren(
    h(
      'div',
      { class: 'hero' },
      h('h1', {}, t('signIn.welcome')),
      h('p', { class: 'lead' }, t('signIn.lead')),
      h('ul', { class: 'hero-points' }, h('li', {}, t('signIn.point1')), h('li', {}, t('signIn.point2')), h('li', {}, t('signIn.point3'))),
    ),
    h(
      'div',
      { class: 'auth-grid' },
      h('section', { class: 'card' }, h('h2', { id: 'sign-in-heading', class: 'card-title' }, t('signIn.title')), signInForm),
      h('section', { class: 'card' }, h('h2', { id: 'sign-up-heading', class: 'card-title' }, t('signUp.title')), signUpForm),
    ),
  );
}
