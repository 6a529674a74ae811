// bcryptjs 2.4 ships no type declarations; the testbed uses only this call.
declare module 'bcryptjs' {
  const bcrypt: {
    hashSync(password: string, saltRounds: number): string;
    compareSync(password: string, hash: string): boolean;
  };
  export default bcrypt;
}
