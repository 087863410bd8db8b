import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/slack-manifest-schema/${name}`, import.meta.url), 'utf8')) as object;
const manifest = parse(readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8')) as Record<string, any>;

/** Slack's top schema picks a versioned schema by URL; serve those URLs from the local copies. */
function manifestValidator() {
  // Slack's schema carries keywords of its own ("_note", "regex"), which strict mode refuses.
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  const base = 'https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas';
  ajv.addSchema(fixture('manifest.schema.1.0.0.json'), `${base}/manifest.schema.1.0.0.json`);
  ajv.addSchema(fixture('manifest.schema.2.0.0.json'), `${base}/manifest.schema.2.0.0.json`);
  return ajv.compile(fixture('manifest.schema.json'));
}

describe('manifest.yml', () => {
  it("is valid against Slack's app manifest schema (format version 2)", () => {
    const validate = manifestValidator();
    const valid = validate(manifest);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(manifest._metadata.major_version).toBe(2);
  });

  it('the schema check has teeth: it rejects an unknown setting and a missing required field', () => {
    const validate = manifestValidator();
    expect(validate({ ...manifest, settings: { ...manifest.settings, socket_mode: true } })).toBe(false);
    const { display_information: _, ...withoutName } = manifest;
    expect(validate(withoutName)).toBe(false);
  });

  it('declares the /cache-access command with its usage hint, in HTTP mode', () => {
    const [command, ...others] = manifest.features.slash_commands;
    expect(others).toEqual([]);
    expect(command).toMatchObject({
      command: '/cache-access',
      url: 'https://cache-access.example.com/slack/events',
      usage_hint: '<cluster> <source> [duration] [reason]',
    });
    expect(command.description).toEqual(expect.any(String));
    expect(manifest.settings.socket_mode_enabled).toBe(false);
    expect(manifest.settings.token_rotation_enabled).toBe(false);
    expect(manifest.settings.interactivity).toEqual({ is_enabled: true, request_url: command.url });
    expect(manifest.settings.event_subscriptions).toEqual({ request_url: command.url, bot_events: ['app_home_opened'] });
  });

  it('asks for exactly the bot scopes the bot uses', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(
      ['chat:write', 'commands', 'im:write', 'usergroups:read', 'users:read'].sort(),
    );
  });

  it('names the bot cache-access and enables its Home and Messages tabs', () => {
    expect(manifest.display_information.name).toBe('cache-access');
    expect(manifest.features.bot_user.display_name).toBe('cache-access');
    expect(manifest.features.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true });
  });

  it('explains how to switch to Socket Mode', () => {
    const text = readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8');
    expect(text).toMatch(/^# .*Socket Mode/m);
    expect(text).toContain('socket_mode_enabled: true');
    expect(text).toContain('SLACK_APP_TOKEN');
  });
});
